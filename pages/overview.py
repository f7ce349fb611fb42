import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, decisions_view, page_setup
from vsm_app.display import plain, show_findings, show_summary
from vsm_app.viewstate import describe
from vsm_core import charts

_, first_view = page_setup("Overview")
if first_view is None:
    st.title("Value stream map")
    st.info("No dataset yet. Upload a Jira export on the Upload page to begin.")
    st.page_link("pages/upload.py", label="Upload a Jira export", icon=":material/upload_file:")
    st.stop()

view, state, query, decided = decisions_view("Overview")
report, changes = decided["report"], decided["changes"]
figures = decided["figures"]


def _days(value) -> str:
    return "n/a" if value is None else f"{value:.1f} d"


st.title(plain(view.info.name))
st.caption(f"{caption_for(view, decided['clock'])} · {plain(describe(state).rsplit('; ', 1)[0])}")
st.subheader(plain(report["title"]))
if view.info.demo:
    st.info("This is a simulated demo team. On the Upload page, upload a Jira export or connect to Jira to see your own flow.",
            icon=":material/upload_file:")

cols = st.columns(5)
cols[0].metric("Delivered", f"{figures.delivered:,}", help=f"{figures.cancelled:,} cancelled, counted apart")
cols[1].metric("Lead time, median", _days(figures.lead_median_days), help=f"p85: {_days(figures.lead_p85_days)}")
cols[2].metric("Lead time, p85", _days(figures.lead_p85_days))
cols[3].metric("Flow efficiency", "n/a" if figures.efficiency_of_sums is None else f"{figures.efficiency_of_sums:.0%}",
               help="Active time over the time from start to finish, summed over delivered items")
cols[4].metric("Work in process now", f"{figures.wip_now:,}", help=f"{figures.at_risk_now:,} past their stage's p85 time")

left, right = st.columns(2)
with left.container(border=True):
    st.subheader("Where work waits")
    st.text(report["summary"])
    st.page_link("pages/bottlenecks.py", label="The ranking, with its intervals", icon=":material/troubleshoot:")
with right.container(border=True):
    st.subheader("What to change first")
    if changes:
        top = changes[0]
        st.text(f"{top['title']}: about {top['expected_days_saved_median']:.1f} days less lead time at the median "
                f"({top['confidence']} confidence, {top['effort']} effort).")
        st.text(f"Evidence: {top['evidence']}")
    else:
        st.text("No change stands out in this view.")
    st.page_link("pages/changes.py", label="Every change, the what-if and experiments", icon=":material/science:")

st.header("The data")
show_summary(view.meta)
summary = data.status_summary(view.info.dataset, view.version)
if not summary.empty:
    st.altair_chart(charts.time_by_status(summary), width="stretch")
    with st.expander("Time per status (table, whole dataset, calendar days)"):
        st.dataframe(
            summary.drop(columns=["is_done"]),
            hide_index=True,
            column_config={
                "status": "Status",
                "items": st.column_config.NumberColumn("Issues that visited", format="localized"),
                "visits": st.column_config.NumberColumn("Visits", format="localized"),
                "median_days": st.column_config.NumberColumn("Median days", format="%.1f"),
                "p85_days": st.column_config.NumberColumn("p85 days", format="%.1f"),
                "total_days": st.column_config.NumberColumn("Total issue-days", format="%.0f"),
            },
        )

st.subheader("Data quality")
show_findings(view.meta.get("warnings", []))
