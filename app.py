"""The dashboard's entry point: `make run` (or `streamlit run app.py`)."""

from vsm_app.navigation import run_app

run_app()
