import streamlit as st

from vsm_app import access, data
from vsm_app.context import caption_for, page_setup
from vsm_app.display import plain, show_links
from vsm_core import queries
from vsm_core.store import StoreError

store, view = page_setup("Datasets")
st.title("Datasets")
# Only what this visitor may manage (and the demo): ids are never listed to anyone else.
rows = [row for row in queries.list_datasets(store) if access.may_list(store.get_by_id(row["dataset"]))]
if len(rows) <= 1:
    st.caption("Datasets you upload in this browser (or open with their edit link) are listed here"
               + (", with those shared with you." if access.login_enabled() else "."))
if not rows:
    st.info("No datasets yet: upload a Jira export on the Upload page.")
    st.stop()

st.dataframe(
    [{**row, "size_mb": row["size_bytes"] / 1e6, "versions": ", ".join(map(str, row["versions"])),
      "link": f"./?dataset={row['dataset']}"} for row in rows],
    hide_index=True,
    width="stretch",
    column_order=["name", "issues", "status_changes", "versions", "as_of", "imported_at", "size_mb", "has_history", "link"],
    column_config={
        "name": "Name",
        "issues": st.column_config.NumberColumn("Issues", format="localized"),
        "status_changes": st.column_config.NumberColumn("Status changes", format="localized"),
        "versions": st.column_config.TextColumn("Data versions", help="Each import into the dataset adds one; links keep theirs."),
        "as_of": "As of (UTC), latest version",
        "imported_at": "Imported (UTC)",
        "size_mb": st.column_config.NumberColumn("Size (MB)", format="%.1f", help="On disk, with its cached views"),
        "has_history": st.column_config.CheckboxColumn("Status history"),
        "link": st.column_config.LinkColumn("Open", display_text="Open"),
    },
)

if view is None:
    st.stop()

st.subheader(f"Data-quality findings: {plain(view.info.name)}")
st.caption(caption_for(view))
findings = data.findings(view.info.dataset, view.version)
if findings.empty:
    st.success("No findings.")
else:
    columns = ["severity", "code", "key", "message"] + (["file"] if findings["file"].notna().any() else [])
    st.dataframe(findings, hide_index=True, width="stretch", column_order=columns,
                 column_config={"code": "Kind", "severity": "Severity", "key": "Issue", "file": "File", "message": "Finding"})

st.subheader(f"Links and settings: {plain(view.info.name)}")
show_links(view.info)
if not access.may_edit(view.info):
    access.refuse("rename, share or delete a dataset", view.info)
    st.stop()
if access.login_enabled():
    with st.form("share", border=True):
        st.text("Accounts that may view this dataset: " + (", ".join(view.info.access.get("viewers", [])) or "none yet"))
        email = st.text_input("Share with (e-mail address of the account)")
        if st.form_submit_button("Share"):
            try:
                store.share(view.info.dataset, email)
            except ValueError as problem:
                st.error(str(problem))
            else:
                st.rerun()
left, right = st.columns(2)
with left.form("rename", border=True):
    new_name = st.text_input("New name", value=view.info.name, max_chars=store.MAX_NAME)
    if st.form_submit_button("Rename"):
        try:
            store.rename(view.info.dataset, new_name)
        except StoreError as problem:
            st.error(str(problem))
        else:
            st.rerun()
with right.form("delete", border=True):
    st.text("Deleting removes every version, saved stage map, experiment and cached view of this dataset. "
            "Links to it stop working. This cannot be undone.")
    sure = st.checkbox("I understand: delete this dataset")
    if st.form_submit_button("Delete the dataset", type="primary"):
        if not sure:
            st.error("Tick the box first: deleting cannot be undone.")
        else:
            try:
                store.delete(view.info.dataset)
            except (StoreError, OSError) as problem:
                st.error(f"The dataset could not be deleted ({problem}); nothing was removed.")
            else:
                st.session_state.pop("dataset", None)
                st.session_state.pop("view_map", None)
                st.query_params.clear()
                st.rerun()
