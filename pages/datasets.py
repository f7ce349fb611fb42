import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, page_setup
from vsm_app.display import plain
from vsm_core import queries

store, view = page_setup("Datasets")
st.title("Datasets")
rows = queries.list_datasets(store)
if not rows:
    st.info("No datasets yet: upload a Jira export on the Upload page.")
    st.stop()

st.dataframe(
    [{**row, "link": f"./overview?dataset={row['dataset']}"} for row in rows],
    hide_index=True,
    width="stretch",
    column_order=["name", "issues", "status_changes", "version", "as_of", "imported_at", "has_history", "link"],
    column_config={
        "name": "Name",
        "issues": st.column_config.NumberColumn("Issues", format="localized"),
        "status_changes": st.column_config.NumberColumn("Status changes", format="localized"),
        "version": "Data version",
        "as_of": "As of (UTC)",
        "imported_at": "Imported (UTC)",
        "has_history": st.column_config.CheckboxColumn("Status history"),
        "link": st.column_config.LinkColumn("Open", display_text="Open"),
    },
)

if view is not None:
    st.subheader(f"Data-quality findings: {plain(view.info.name)}")
    st.caption(caption_for(view))
    findings = data.findings(view.info.dataset, view.version)
    if findings.empty:
        st.success("No findings.")
    else:
        columns = ["severity", "code", "key", "message"] + (["file"] if findings["file"].notna().any() else [])
        st.dataframe(findings, hide_index=True, width="stretch", column_order=columns,
                     column_config={"code": "Kind", "severity": "Severity", "key": "Issue", "file": "File", "message": "Finding"})
