import streamlit as st

from vsm_app import access
from vsm_app.context import View, page_setup
from vsm_app.display import plain, show_findings, show_links, show_summary
from vsm_app.jira_connect import show_cancelled, show_pull_form, show_refresh
from vsm_app.stagemap_editor import show_stage_map_editor
from vsm_app.uploads import import_uploads
from vsm_core.ingest import FORMATS
from vsm_core.problems import ImportProblem
from vsm_core.store import StoreError

store, view = page_setup("Upload")

st.title("Bring your own Jira data")
show_cancelled()
files_tab, jira_tab = st.tabs(["Upload files", "Connect to Jira"], key="upload_source")  # keyed: the tab stays chosen
with files_tab:
    st.write(
        "Drop one or several files: a Jira JSON export with changelog (best: it has every status change), "
        "a Jira CSV export (current status only), an item-dates CSV, an event log, or a time-in-status export. "
        "Add Jira's status list and your board configuration to the same upload to get the board's columns as stages."
    )
    st.caption(
        f"Each file may be up to {st.get_option('server.maxUploadSize')} MB. For larger exports use the command line: "
        "`vsm import FILE --name NAME` writes to the same store this dashboard reads."
    )

    with st.form("upload", clear_on_submit=False, border=True):
        uploads = st.file_uploader(
            "Export files", accept_multiple_files=True, key="uploads",
            help="JSON, NDJSON, CSV, TSV, Parquet, optionally gzip-compressed.",
        )
        into = None
        if view is not None and access.may_edit(view.info):
            as_version = st.checkbox(f"Add as a new data version of {plain(view.info.name)}",
                                     help="Links to the earlier versions keep showing them; pages offer the new one.")
            into = view.info.dataset if as_version else None
        left, middle, right = st.columns(3)
        name = left.text_input("Dataset name", placeholder="e.g. Payments team, 2025")
        fmt = middle.selectbox("Format", ["auto", *FORMATS], help="Chosen from the content unless you pick one.")
        timezone_name = right.text_input(
            "Time zone of times without an offset", value="UTC", help="CSV exports carry no zone; e.g. Europe/Madrid."
        )
        submitted = st.form_submit_button("Import", type="primary")

with jira_tab:
    refreshed = show_refresh(store, view) if view is not None else None
    pulled = show_pull_form(store, view) or refreshed

imported = None  # (the import's result, the dataset it added a version to or None)
lead = ""  # what a pull did, before what the import stored
if submitted:
    if not uploads:
        st.error("Choose at least one file to import.")
        st.stop()
    bar = st.progress(0.0, text="Starting")
    try:
        imported = import_uploads(
            store, uploads, name=name.strip(), fmt=fmt, timezone_name=timezone_name.strip() or None, into=into,
            progress=lambda what, fraction: bar.progress(min(1.0, fraction), text=what),
        ), into
    except (ImportProblem, StoreError) as problem:
        bar.empty()
        st.error(plain(str(problem)), icon=":material/error:")
        st.caption("Nothing was stored; your other datasets are unchanged.")
        st.stop()
    bar.empty()
elif pulled and pulled[0].unchanged:
    st.info(f"Nothing was updated in Jira since {pulled[0].since} (Jira's time): "
            f"{plain(pulled[0].imported.name)} stays at data version {pulled[0].imported.version}.",
            icon=":material/check:")
elif pulled:
    outcome, into = pulled
    imported = outcome.imported, into
    count = outcome.changed if outcome.incremental else outcome.fetched
    lead = (f"Pulled {count:,} issue{'s' if count != 1 else ''} from Jira"
            + (f" updated since {outcome.since} (Jira's time)" if outcome.incremental else "")
            + (", resuming an interrupted pull" if outcome.resumed else "") + ". ")

if imported:
    result, into = imported
    if into is None:  # a new dataset: its uploader gets the edit key (or, with login, owns it)
        access.remember_edit_key(result.dataset, store.new_edit_key(result.dataset))
        if access.visitor().email:
            store.set_owner(result.dataset, access.visitor().email)
    info = store.get(result.dataset)
    st.success(lead + f"Imported {result.issues:,} issues and {result.status_changes:,} status changes as "
               f"“{plain(result.name)}”" + (f", data version {result.version}." if into else "."))
    show_links(info)
    show_summary(info.meta(result.version))
    st.subheader("Data quality")
    show_findings(result.warnings)
    st.query_params["dataset"] = result.dataset
    st.session_state["dataset"] = result.dataset
    st.session_state.pop("view_map", None)  # the new dataset opens on its own stage map
    st.page_link("pages/overview.py", label="Open the new dataset", icon=":material/arrow_forward:",
                 query_params={"dataset": result.dataset})
    view = View(info=info, version=result.version, meta=info.meta(result.version))

if view is not None:
    st.divider()
    st.header(f"Stages of {plain(view.info.name)}")
    show_stage_map_editor(store, view)
