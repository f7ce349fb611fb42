import streamlit as st

from vsm_app.context import caption_for, page_setup
from vsm_core import charts, queries

store, view = page_setup("Overview")
if view is None:
    st.title("Value stream map")
    st.info("No dataset yet. Upload a Jira export on the Upload page to begin.")
    st.page_link("pages/upload.py", label="Upload a Jira export", icon=":material/upload_file:")
    st.stop()

st.title(view.info.name)
st.caption(caption_for(view))
meta = view.meta
counts = meta.get("counts", {})
facts = queries.overview(view.info, view.version)

cols = st.columns(4)
cols[0].metric("Issues", f"{counts.get('issues', 0):,}")
cols[1].metric("Status changes", f"{counts.get('status_changes', 0):,}")
cols[2].metric("Created from", (meta.get("first_created") or "")[:10] or "n/a")
cols[3].metric("As of", (meta.get("as_of") or "")[:10], help=f"{meta.get('as_of')} UTC: the time 'now' means for this dataset")

if not meta.get("has_history"):
    st.warning(
        "This export has no status history (a Jira CSV export carries only each issue's current status). "
        "Lead time, throughput and work in progress by current status can be shown; time per stage, "
        "flow efficiency and rework need a JSON export with changelog. The README explains how to get one."
    )

summary = queries.status_summary(view.info, view.version)
if not summary.empty:
    st.altair_chart(charts.time_by_status(summary), width="stretch")
    with st.expander("Time per status (table)"):
        st.dataframe(
            summary,
            hide_index=True,
            column_config={
                "status": "Status",
                "items": st.column_config.NumberColumn("Issues that visited", format="%d"),
                "visits": st.column_config.NumberColumn("Visits", format="%d"),
                "median_days": st.column_config.NumberColumn("Median days", format="%.1f"),
                "p85_days": st.column_config.NumberColumn("p85 days", format="%.1f"),
                "total_days": st.column_config.NumberColumn("Total issue-days", format="%.0f"),
            },
        )

st.subheader("Data quality")
warnings = meta.get("warnings", [])
if warnings:
    st.caption(
        f"{len(warnings)} kind{'s' if len(warnings) != 1 else ''} of finding in this import; "
        "every affected issue is listed on the Datasets page."
    )
    with st.container(border=True):
        for warning in warnings:
            st.text(warning)  # plain text: keys and status names come from Jira
else:
    st.success("No data-quality findings in this import.")
