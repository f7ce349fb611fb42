"""Value stream mapping core: import Jira exports, store datasets, compute flow metrics.

This package never imports Streamlit: the dashboard and the command line are thin layers
over it.
"""

__version__ = "0.1.0"
