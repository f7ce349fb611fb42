"""``python -m vsm_core.demo``: write simulated Jira exports (see ``vsm_core.demo.cli``)."""

import sys

from vsm_core.demo.cli import main

sys.exit(main())
