"""The dashboard's entry point: `make run` (or `streamlit run app.py`)."""

import streamlit as st

st.set_page_config(page_title="Value stream map", page_icon=":material/route:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:", url_path="upload"),
    st.Page("pages/datasets.py", title="Datasets", icon=":material/database:", url_path="datasets"),
]
st.navigation(pages, position="sidebar").run()
