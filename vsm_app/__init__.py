"""The dashboard's glue between Streamlit pages and ``vsm_core``: session set-up, the
current dataset from the URL, and small display helpers. No SQL and no parsing here.
"""
