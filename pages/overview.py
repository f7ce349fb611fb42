import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, page_setup
from vsm_app.display import plain, show_findings, show_summary
from vsm_core import charts

store, view = page_setup("Overview")
if view is None:
    st.title("Value stream map")
    st.info("No dataset yet. Upload a Jira export on the Upload page to begin.")
    st.page_link("pages/upload.py", label="Upload a Jira export", icon=":material/upload_file:")
    st.stop()

st.title(plain(view.info.name))
st.caption(caption_for(view))
show_summary(view.meta)

summary = data.status_summary(view.info.dataset, view.version)
if not summary.empty:
    st.altair_chart(charts.time_by_status(summary), width="stretch")
    with st.expander("Time per status (table)"):
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
