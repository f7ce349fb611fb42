import sys

from vsm_core.cli import main

sys.exit(main())
