import streamlit as st

from vsm_app import data
from vsm_app.context import caption_for, computed_view
from vsm_app.display import plain
from vsm_app.viewstate import describe
from vsm_core import charts
from vsm_core.export import safe_csv_bytes

view, state, query, tables = computed_view("Flow", data.flow_tables)

lead_finding, lead_chart = charts.lead_time_histogram(tables["finished"])
st.title(plain(lead_finding))
st.caption(f"{caption_for(view, tables['clock'])} · {plain(describe(state).rsplit('; ', 1)[0])}")

sections = (
    ("Cumulative flow", charts.cumulative_flow(tables["wip"]), "wip", "cumulative-flow.csv"),
    ("Throughput", charts.weekly_throughput(tables["throughput"]), "throughput", "throughput.csv"),
    ("Cycle time", charts.cycle_time_scatter(tables["finished"]), "finished", "finished-items.csv"),
    ("Ageing work in progress", charts.ageing_work(tables["ageing"]), "ageing", "ageing.csv"),
    ("Lead time", (lead_finding, lead_chart), "finished", "finished-items.csv"),
)
for n, (heading, (_, chart), table, file_name) in enumerate(sections):
    st.subheader(heading)
    st.altair_chart(chart, width="stretch")
    # The bytes are made only when the button is pressed: a rerun does not pay for five CSVs.
    st.download_button(f"{heading} data (CSV)", data=lambda frame=tables[table]: safe_csv_bytes(frame), file_name=file_name,
                       mime="text/csv", icon=":material/download:", key=f"csv-{n}")
