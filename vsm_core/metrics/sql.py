"""Every SQL statement of the flow measures, in one place.

Values are always bound parameters (``$name``); the only text put into a statement is the
issue-filter condition, built by ``scope.issue_filter_sql`` from a fixed allow-list of
clauses. ``tests/test_metrics_sql.py`` runs every statement here.

Durations are read on the chosen clock through ``clock_h(t, $working, $tz, $holidays)``: a
position in hours, so that the time between two instants is a subtraction. Percentiles are
``quantile_cont`` everywhere: linear interpolation between the closest ranks (NumPy's default,
Excel's PERCENTILE.INC).

The prepared tables:

* ``smap``  one row per status (lower-cased) and its stage's ``stage_id``.
* ``stages`` one row per stage, with the statuses merged into it.
* ``issue_keys`` every issue's number ``n`` (base tables use it instead of the text key).
* ``base_runs``/``base_items`` every issue's stage stays and per-issue facts (below); kept
  on disk per (data version, stage map, clock).
* ``scope`` the issues the filters keep (the date window is not applied here).
* ``runs``  the stays of the issues in scope, with clock positions ``c_start``/``c_end``,
  ``blocked_h`` (flagged time inside the stay) and the window flags.
* ``items`` one row per issue in scope: commitment, finish, lead/cycle/flow/reopened time,
  process and wait time, current stage and age, and whether it falls in the date window.
"""

CLOCK_MACROS = (
    "CREATE OR REPLACE TEMP MACRO work_day(d, hol) AS isodow(d) <= 5 AND NOT list_contains(hol, d)",
    # Working days in [1900-01-01, d): 1900-01-01 was a Monday, and no stored time is earlier.
    """CREATE OR REPLACE TEMP MACRO work_days_before(d, hol) AS
        (datediff('day', DATE '1900-01-01', d) // 7) * 5 + least(datediff('day', DATE '1900-01-01', d) % 7, 5)
        - len(list_filter(hol, lambda h: h < d AND isodow(h) <= 5))""",
    """CREATE OR REPLACE TEMP MACRO clock_h(t, working, tz, hol) AS
        CASE WHEN working THEN
            24 * work_days_before(CAST(timezone(tz, t) AS DATE), hol)
            + CASE WHEN work_day(CAST(timezone(tz, t) AS DATE), hol)
                   THEN epoch(timezone(tz, t) - CAST(CAST(timezone(tz, t) AS DATE) AS TIMESTAMP)) / 3600.0
                   ELSE 0 END
        ELSE epoch(t) / 3600.0 END""",
    "CREATE OR REPLACE TEMP MACRO local_day(t, tz) AS CAST(timezone(tz, t) AS DATE)",
    "CREATE OR REPLACE TEMP MACRO local_week(t, tz) AS CAST(date_trunc('week', timezone(tz, t)) AS DATE)",
)

STAGE_MAP_TABLES = (
    """CREATE OR REPLACE TEMP TABLE stages (
        stage_id INTEGER, stage VARCHAR, stage_order INTEGER, kind VARCHAR, side BOOLEAN, cancelled BOOLEAN,
        wip_limit INTEGER, statuses VARCHAR[], new BOOLEAN)""",
    "CREATE OR REPLACE TEMP TABLE smap (status_l VARCHAR, stage_id INTEGER)",
)
INSERT_STAGE = ("INSERT INTO stages VALUES ($stage_id, $stage, $stage_order, $kind, $side, $cancelled, $wip_limit, "
                "$statuses, $new)")
INSERT_STATUS = "INSERT INTO smap VALUES ($status_l, $stage_id)"

# {condition} is scope.issue_filter_sql's allow-listed condition (bound parameters only).
SCOPE = """
CREATE OR REPLACE TEMP TABLE scope AS
SELECT key, type, project, parent, created,
       coalesce(changelog_total > changelog_present, false) AS history_truncated
FROM issues WHERE {condition}
"""

# The base tables: one per (data version, stage map, clock), for every issue (filters come
# later), so they can be kept on disk and shared by every view of that data. Issues are
# numbered (``n``) and stages too (``stage_id``): windows and groups over a million stays
# run on integers, not on text keys.
BASE_ISSUES = """
CREATE OR REPLACE TEMP TABLE issue_keys AS
SELECT key, CAST(row_number() OVER (ORDER BY key) AS INTEGER) AS n, created,
       greatest(CAST($as_of AS TIMESTAMPTZ), created) AS horizon
FROM issues
"""

BASE_FLAG_SPANS = """
CREATE OR REPLACE TEMP TABLE flag_spans AS
WITH changes AS (
    SELECT k.n, fc.time, coalesce(fc.to_value, '') <> '' AS flagged,
           row_number() OVER (PARTITION BY k.n ORDER BY fc.time, fc.history_id NULLS LAST, fc.item_seq) AS seq
    FROM field_changes fc JOIN issue_keys k ON k.key = fc.key
    WHERE fc.field = 'flagged'
),
spans AS (
    SELECT n, flagged, time AS t_from, lead(time) OVER (PARTITION BY n ORDER BY seq) AS t_to FROM changes
),
bounded AS (
    SELECT sp.n, least(greatest(sp.t_from, k.created), k.horizon) AS t_from,
           least(greatest(coalesce(sp.t_to, k.horizon), k.created), k.horizon) AS t_to
    FROM spans sp JOIN issue_keys k ON k.n = sp.n
    WHERE sp.flagged
)
SELECT n, clock_h(t_from, $working, $tz, $holidays) AS c_from, clock_h(t_to, $working, $tz, $holidays) AS c_to
FROM bounded WHERE t_to > t_from
"""

# Stage stays ("runs"): consecutive status visits in one stage merged (gaps and islands:
# ``visit_seq`` minus the visit's rank within its stage is constant along a run). ``run_seq``
# is the run's first visit number (ordered, not consecutive); ``is_last`` marks the issue's
# current stay. Rework, %C&A and ageing read precomputed columns: ``lin_start`` marks the first
# stay of each step of the linear path (side states left out, consecutive stays in one stage
# merged); on those rows ``next_lin_stage_id``/``next_lin_order`` name the next step and
# ``later_min_order`` the earliest stage order the issue enters after this step.
BASE_RUNS = """
CREATE OR REPLACE TEMP TABLE base_runs AS
WITH sv AS (
    SELECT k.n, v.visit_seq, m.stage_id, v.start, v."end"
    FROM visits v JOIN issue_keys k ON k.key = v.key JOIN smap m ON m.status_l = lower(v.status)
),
islands AS (
    SELECT *, visit_seq - row_number() OVER (PARTITION BY n, stage_id ORDER BY visit_seq) AS island FROM sv
),
merged AS (
    SELECT n, stage_id, min(visit_seq) AS run_seq, max(visit_seq) AS last_visit, min(start) AS start, max("end") AS "end"
    FROM islands GROUP BY n, stage_id, island
),
last_visits AS (
    SELECT n, max(visit_seq) AS last_visit FROM sv GROUP BY n
),
clocked AS (
    SELECT m.n, m.run_seq, m.stage_id, m.start, m."end", m.last_visit = l.last_visit AS is_last,
           st.stage_order, st.kind, st.side, st.cancelled,
           clock_h(m.start, $working, $tz, $holidays) AS c_start,
           clock_h(m."end", $working, $tz, $holidays) AS c_end
    FROM merged m JOIN last_visits l ON l.n = m.n JOIN stages st ON st.stage_id = m.stage_id
),
blocked AS (
    SELECT r.n, r.run_seq, sum(least(r.c_end, f.c_to) - greatest(r.c_start, f.c_from)) AS blocked_h
    FROM clocked r JOIN flag_spans f ON f.n = r.n AND f.c_from < r.c_end AND f.c_to > r.c_start
    GROUP BY r.n, r.run_seq
),
linear AS (
    SELECT n, run_seq, stage_id, stage_order,
           lag(stage_id) OVER (PARTITION BY n ORDER BY run_seq) IS DISTINCT FROM stage_id AS lin_start
    FROM clocked WHERE NOT side
),
path AS (
    SELECT n, run_seq,
           lead(stage_id) OVER w AS next_lin_stage_id, lead(stage_order) OVER w AS next_lin_order,
           min(stage_order) OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_min_order
    FROM linear WHERE lin_start
    WINDOW w AS (PARTITION BY n ORDER BY run_seq)
)
SELECT c.*, c.c_end - c.c_start AS hours, coalesce(b.blocked_h, 0) AS blocked_h,
       p.n IS NOT NULL AS lin_start, p.next_lin_stage_id, p.next_lin_order, p.later_min_order
FROM clocked c
LEFT JOIN blocked b ON b.n = c.n AND b.run_seq = c.run_seq
LEFT JOIN path p ON p.n = c.n AND p.run_seq = c.run_seq
"""

# Per issue. The final entry into done is the first done stay after the last non-done one;
# done stays before that are reopened time; time in non-done stays is flow time.
BASE_ITEMS = """
CREATE OR REPLACE TEMP TABLE base_items AS
WITH marks AS (
    SELECT n,
           coalesce(max(run_seq) FILTER (WHERE kind <> 'done'), -1) AS last_open_run,
           min(run_seq) FILTER (WHERE kind IN ('wait', 'active')) AS commit_run
    FROM base_runs GROUP BY n
),
per_item AS (
    SELECT r.n,
           bool_or(r.is_last AND r.kind = 'done') AS finished,
           bool_or(r.is_last AND r.cancelled) AS cancelled,
           min(r.start) FILTER (WHERE r.run_seq = m.commit_run) AS committed_at,
           min(r.c_start) FILTER (WHERE r.run_seq = m.commit_run) AS c_committed,
           min(r.start) FILTER (WHERE r.kind = 'done' AND r.run_seq > m.last_open_run) AS done_at,
           min(r.c_start) FILTER (WHERE r.kind = 'done' AND r.run_seq > m.last_open_run) AS c_done,
           min(r.c_start) AS c_created,
           max(r.c_end) AS c_horizon,
           max(r."end") AS horizon,
           coalesce(sum(r.hours) FILTER (WHERE r.kind <> 'done'), 0) AS flow_h,
           coalesce(sum(r.hours) FILTER (WHERE r.kind = 'done' AND r.run_seq < m.last_open_run), 0) AS reopened_h,
           coalesce(sum(r.hours - r.blocked_h) FILTER (WHERE r.kind = 'active'), 0) AS pt_h,
           coalesce(sum(CASE WHEN r.kind = 'active' THEN r.blocked_h
                             WHEN r.kind = 'wait' THEN r.hours
                             WHEN r.kind = 'backlog' AND r.run_seq > m.commit_run THEN r.hours END), 0) AS wt_h,
           coalesce(sum(r.blocked_h) FILTER (WHERE r.kind <> 'done'), 0) AS blocked_h,
           coalesce(sum(r.hours) FILTER (WHERE r.kind = 'backlog' AND (m.commit_run IS NULL OR r.run_seq < m.commit_run)), 0) AS backlog_h,
           any_value(r.stage_id) FILTER (WHERE r.is_last) AS current_stage_id,
           max(r.hours) FILTER (WHERE r.is_last) AS stage_age_h,
           max(r.start) FILTER (WHERE r.is_last) AS stage_entered_at
    FROM base_runs r JOIN marks m ON m.n = r.n
    GROUP BY r.n
)
SELECT p.n, k.key, p.committed_at, p.done_at, p.c_committed, p.horizon,
       p.finished, p.finished AND p.cancelled AS cancelled, p.finished AND NOT p.cancelled AS delivered,
       CASE WHEN p.finished THEN p.c_done - p.c_created END AS lead_h,
       CASE WHEN p.finished THEN p.c_done - p.c_committed END AS cycle_h,
       p.flow_h, p.reopened_h, p.pt_h, p.wt_h, p.blocked_h, p.backlog_h,
       p.current_stage_id, p.stage_entered_at,
       CASE WHEN NOT p.finished THEN p.stage_age_h END AS stage_age_h,
       CASE WHEN NOT p.finished THEN p.c_horizon - p.c_committed END AS age_h
FROM per_item p JOIN issue_keys k ON k.n = p.n
"""

# The base tables kept on disk ({table} is base_runs or base_items, never user text).
SAVE_BASE = "COPY {table} TO $file (FORMAT parquet, COMPRESSION zstd)"
LOAD_BASE = "CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_parquet($file)"
CHECK_SAVED_RUNS = "SELECT count(*) FROM parquet_metadata($file)"

# The view's tables: the base tables cut to the filters, with the date window applied.
ITEMS = """
CREATE OR REPLACE TEMP TABLE items AS
SELECT b.*, s.type, s.project, s.parent, s.created, s.history_truncated,
       b.finished AND ($win_from IS NULL OR b.done_at >= $win_from) AND ($win_to IS NULL OR b.done_at < $win_to) AS finished_in_window,
       (s.created < coalesce($win_to, 'infinity'::TIMESTAMPTZ))
         AND (coalesce(b.done_at, b.horizon) >= coalesce($win_from, '-infinity'::TIMESTAMPTZ)) AS in_window
FROM base_items b JOIN scope s ON s.key = b.key
"""

# {base_runs} is the table ``base_runs`` or, when the base tables were saved, the saved file
# read directly (``read_parquet($runs_file)``), which spares copying a million rows twice.
RUNS = """
CREATE OR REPLACE TEMP TABLE runs AS
SELECT r.*, i.in_window, i.finished_in_window AND i.delivered AS delivered_in_window
FROM {base_runs} r JOIN items i ON i.n = r.n
"""
RUNS_SOURCES = {"built": "base_runs", "saved": "read_parquet($runs_file)"}

STAGES = """
WITH per_item AS (
    SELECT n, stage_id, count(*) AS visits, sum(hours) AS hours, sum(blocked_h) AS blocked_h,
           bool_or(delivered_in_window AND kind <> 'done') AS delivered
    FROM runs WHERE in_window
    GROUP BY n, stage_id
),
per_stage AS (
    SELECT stage_id, count(*) AS items, CAST(sum(visits) AS BIGINT) AS visits,
           quantile_cont(hours, 0.5) AS median_hours, quantile_cont(hours, 0.85) AS p85_hours,
           quantile_cont(hours, 0.95) AS p95_hours, sum(hours) AS total_hours, sum(blocked_h) AS blocked_hours,
           count(*) FILTER (WHERE delivered) AS finished_items, sum(hours) FILTER (WHERE delivered) AS finished_hours,
           quantile_cont(hours, 0.5) FILTER (WHERE delivered) AS finished_median_hours,
           quantile_cont(hours, 0.85) FILTER (WHERE delivered) AS finished_p85_hours
    FROM per_item GROUP BY stage_id
),
flow AS (
    SELECT count(*) AS n, sum(flow_h) AS flow_h FROM items WHERE finished_in_window AND delivered
),
now AS (
    SELECT current_stage_id AS stage_id, count(*) AS items_now,
           quantile_cont(stage_age_h, 0.5) AS median_age_now_hours, max(stage_age_h) AS oldest_age_now_hours
    FROM items WHERE NOT finished GROUP BY current_stage_id
)
SELECT st.stage, st.statuses, st.kind, st.stage_order AS "order", st.side, st.cancelled, st.wip_limit, st.new,
       coalesce(v.items, 0) AS items, coalesce(v.visits, 0) AS visits,
       v.median_hours, v.p85_hours, v.p95_hours, coalesce(v.total_hours, 0) AS total_hours,
       CASE WHEN st.kind = 'done' THEN NULL WHEN fl.flow_h > 0 THEN coalesce(v.finished_hours, 0) / fl.flow_h END AS share_of_lead_time,
       CASE WHEN st.kind = 'done' THEN NULL WHEN fl.n > 0 THEN coalesce(v.finished_hours, 0) / fl.n / 24 END AS days_of_lead_time,
       CASE WHEN st.kind = 'done' THEN 0 ELSE coalesce(v.finished_items, 0) END AS finished_items,
       v.finished_median_hours, v.finished_p85_hours,
       CASE st.kind WHEN 'active' THEN coalesce(v.blocked_hours, 0) WHEN 'wait' THEN coalesce(v.total_hours, 0) END AS wait_hours,
       CASE st.kind WHEN 'active' THEN coalesce(v.total_hours, 0) - coalesce(v.blocked_hours, 0) WHEN 'wait' THEN 0 END AS active_hours,
       CASE WHEN st.kind <> 'done' THEN coalesce(v.blocked_hours, 0) END AS blocked_hours,
       coalesce(n.items_now, 0) AS items_now, n.median_age_now_hours, n.oldest_age_now_hours
FROM stages st
LEFT JOIN per_stage v ON v.stage_id = st.stage_id
LEFT JOIN now n ON n.stage_id = st.stage_id
CROSS JOIN flow fl
ORDER BY st.stage_order, st.stage_id
"""

FINISHED_ITEMS = """
SELECT key, type, done_at, cancelled, history_truncated, lead_h AS lead_hours, cycle_h AS cycle_hours, flow_h AS flow_hours,
       reopened_h AS reopened_hours, pt_h AS process_hours, wt_h AS wait_hours, blocked_h AS blocked_hours,
       CASE WHEN pt_h + wt_h > 0 THEN pt_h / (pt_h + wt_h) END AS flow_efficiency
FROM items WHERE finished_in_window
ORDER BY done_at, key
"""

# Over delivered items finished in the window; cancelled ones are counted apart.
DISTRIBUTIONS = """
WITH d AS (
    SELECT 'lead_time' AS measure, lead_h AS h FROM items WHERE finished_in_window AND delivered
    UNION ALL SELECT 'cycle_time', cycle_h FROM items WHERE finished_in_window AND delivered AND cycle_h IS NOT NULL
    UNION ALL SELECT 'reopened_time', reopened_h FROM items WHERE finished_in_window AND delivered AND reopened_h > 0
    UNION ALL SELECT 'backlog_time', backlog_h FROM items WHERE finished_in_window AND delivered
)
SELECT measure, count(h) AS items, avg(h) AS mean_hours, quantile_cont(h, 0.5) AS median_hours,
       quantile_cont(h, 0.85) AS p85_hours, quantile_cont(h, 0.95) AS p95_hours, max(h) AS max_hours
FROM d GROUP BY measure
ORDER BY CASE measure WHEN 'lead_time' THEN 1 WHEN 'cycle_time' THEN 2 WHEN 'reopened_time' THEN 3 ELSE 4 END
"""

THROUGHPUT_WEEKLY = """
WITH done AS (
    SELECT local_week(done_at, $tz) AS week, delivered FROM items WHERE finished_in_window
),
span AS (
    SELECT coalesce(local_week(CAST($win_from AS TIMESTAMPTZ), $tz), min(week)) AS first,
           coalesce(local_week(CAST($win_to AS TIMESTAMPTZ) - INTERVAL 1 MICROSECOND, $tz), max(week)) AS last
    FROM done
),
weeks AS (
    SELECT CAST(unnest(generate_series(first, last, INTERVAL 7 DAY)) AS DATE) AS week FROM span WHERE first IS NOT NULL
)
SELECT w.week, count(d.week) FILTER (WHERE d.delivered) AS delivered, count(d.week) FILTER (WHERE NOT d.delivered) AS cancelled
FROM weeks w LEFT JOIN done d ON d.week = w.week
GROUP BY w.week ORDER BY w.week
"""

# Arrivals: stays that start in the week (the first, at creation, included). Departures: stays
# that end in the week by a move (an issue's current stay never departs).
NET_FLOW_WEEKLY = """
WITH moves AS (
    SELECT stage_id, local_week(start, $tz) AS week, 1 AS arrivals, 0 AS departures FROM runs WHERE in_window
    UNION ALL
    SELECT stage_id, local_week("end", $tz), 0, 1 FROM runs WHERE in_window AND NOT is_last
),
bounded AS (
    SELECT * FROM moves
    WHERE ($win_from IS NULL OR week >= local_week(CAST($win_from AS TIMESTAMPTZ), $tz))
      AND ($win_to IS NULL OR week <= local_week(CAST($win_to AS TIMESTAMPTZ) - INTERVAL 1 MICROSECOND, $tz))
)
SELECT st.stage, st.stage_order AS "order", b.week, CAST(sum(b.arrivals) AS BIGINT) AS arrivals,
       CAST(sum(b.departures) AS BIGINT) AS departures, CAST(sum(b.arrivals) - sum(b.departures) AS BIGINT) AS net_flow
FROM bounded b JOIN stages st ON st.stage_id = b.stage_id
GROUP BY st.stage, st.stage_order, b.week ORDER BY b.week, st.stage_order
"""

# Over delivered items finished in the window that were ever committed.
FLOW_EFFICIENCY = """
SELECT count(*) AS items,
       sum(pt_h) AS process_hours, sum(wt_h) AS wait_hours, sum(blocked_h) AS blocked_hours,
       sum(pt_h) / nullif(sum(pt_h) + sum(wt_h), 0) AS ratio_of_sums,
       quantile_cont(pt_h / nullif(pt_h + wt_h, 0), 0.5) AS median_of_ratios,
       sum(pt_h) / nullif(sum(lead_h), 0) AS activity_ratio,
       sum(lead_h) AS lead_hours
FROM items WHERE finished_in_window AND delivered AND cycle_h IS NOT NULL
"""

# %C&A: of the forward departures from a stage along the linear path (``base_runs``), the
# share whose issue never later enters this stage or an earlier one. Departures into done count
# as forward.
COMPLETE_AND_ACCURATE = """
WITH forward AS (
    SELECT stage_id, coalesce(later_min_order <= stage_order, false) AS came_back
    FROM runs WHERE in_window AND lin_start AND next_lin_order > stage_order
),
per_stage AS (
    SELECT stage_id, count(*) AS departures, count(*) FILTER (WHERE came_back) AS returned FROM forward GROUP BY stage_id
)
SELECT st.stage, st.stage_order AS "order", st.kind,
       coalesce(f.departures, 0) AS forward_departures, coalesce(f.returned, 0) AS returned,
       (f.departures - f.returned) / f.departures AS pct_complete_accurate
FROM stages st LEFT JOIN per_stage f ON f.stage_id = st.stage_id
WHERE st.kind <> 'done' AND NOT st.side
ORDER BY st.stage_order, st.stage_id
"""

REWORK_LOOPS = """
WITH moves AS (
    SELECT r.stage_id, r.stage_order, r.next_lin_stage_id, r.next_lin_order, i.key
    FROM runs r JOIN items i ON i.n = r.n
    WHERE r.in_window AND r.lin_start AND r.next_lin_order < r.stage_order
)
SELECT a.stage AS from_stage, b.stage AS to_stage, count(*) AS moves, count(DISTINCT m.key) AS items,
       list(DISTINCT m.key ORDER BY m.key)[1:5] AS example_keys
FROM moves m JOIN stages a ON a.stage_id = m.stage_id JOIN stages b ON b.stage_id = m.next_lin_stage_id
GROUP BY a.stage, a.stage_order, b.stage, b.stage_order
ORDER BY moves DESC, a.stage_order, b.stage_order
"""

# A handoff: the assignee becomes someone other than the last person assigned, while the issue
# is in a committed stage (wait or active, side states included). First assignments and
# un-assignments are not handoffs.
HANDOFF_EVENTS = """
WITH changes AS (
    SELECT i.n, fc.time, nullif(fc.to_value, '') AS to_person,
           coalesce(last_value(nullif(fc.to_value, '') IGNORE NULLS) OVER w, nullif(first_value(fc.from_value) OVER w0, '')) AS before_person
    FROM field_changes fc JOIN items i ON i.key = fc.key
    WHERE fc.field = 'assignee' AND i.in_window
    WINDOW w AS (PARTITION BY i.n ORDER BY fc.time, fc.history_id NULLS LAST, fc.item_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           w0 AS (PARTITION BY i.n ORDER BY fc.time, fc.history_id NULLS LAST, fc.item_seq ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
handoffs AS (
    SELECT n, time FROM changes WHERE to_person IS NOT NULL AND before_person IS NOT NULL AND to_person <> before_person
)
SELECT h.n, r.stage_id, h.time
FROM handoffs h
JOIN runs r ON r.n = h.n AND h.time >= r.start AND (h.time < r."end" OR (r.is_last AND h.time <= r."end"))
WHERE r.kind IN ('wait', 'active')
"""

HANDOFFS_BY_STAGE = """
WITH e AS ({events}),
per_stage AS (SELECT stage_id, count(*) AS handoffs, count(DISTINCT n) AS items_with_handoffs FROM e GROUP BY stage_id)
SELECT st.stage, st.stage_order AS "order", coalesce(p.handoffs, 0) AS handoffs, coalesce(p.items_with_handoffs, 0) AS items_with_handoffs
FROM stages st LEFT JOIN per_stage p ON p.stage_id = st.stage_id
WHERE st.kind IN ('wait', 'active')
ORDER BY st.stage_order, st.stage_id
""".replace("{events}", HANDOFF_EVENTS)

HANDOFFS_PER_ITEM = """
WITH e AS ({events}),
per_item AS (SELECT n, count(*) AS handoffs FROM e GROUP BY n)
SELECT i.key, coalesce(p.handoffs, 0) AS handoffs
FROM items i LEFT JOIN per_item p ON p.n = i.n
WHERE i.in_window AND i.committed_at IS NOT NULL
ORDER BY handoffs DESC, i.key
""".replace("{events}", HANDOFF_EVENTS)

# Items in each stage at the end of each local day (the cumulative flow diagram's bands), from
# +1 on the day a stay starts and -1 on the day it ends: a stay is counted on a day when it
# covers that day's end. Days run from the first day of the window (else of the data) to the
# as-of day (or the window's last day, when earlier).
WIP_DAILY = """
WITH deltas AS (
    SELECT stage_id, local_day(start, $tz) AS day, 1 AS delta FROM runs WHERE in_window
    UNION ALL
    SELECT stage_id, local_day("end", $tz), -1 FROM runs WHERE in_window AND NOT is_last
),
span AS (
    SELECT min(day) AS first_data,
           coalesce(local_day(CAST($win_from AS TIMESTAMPTZ), $tz), min(day)) AS first,
           least(coalesce(local_day(CAST($win_to AS TIMESTAMPTZ) - INTERVAL 1 MICROSECOND, $tz), local_day(CAST($as_of AS TIMESTAMPTZ), $tz)),
                 local_day(CAST($as_of AS TIMESTAMPTZ), $tz)) AS last
    FROM deltas
),
days AS (
    SELECT CAST(unnest(generate_series(least(first_data, first), last, INTERVAL 1 DAY)) AS DATE) AS day
    FROM span WHERE first <= last
),
daily AS (SELECT stage_id, day, sum(delta) AS delta FROM deltas GROUP BY stage_id, day),
running AS (
    SELECT d.day, st.stage, st.stage_order, st.stage_id, st.kind, st.wip_limit,
           sum(coalesce(dl.delta, 0)) OVER (PARTITION BY st.stage_id ORDER BY d.day ROWS UNBOUNDED PRECEDING) AS wip
    FROM days d CROSS JOIN stages st
    LEFT JOIN daily dl ON dl.stage_id = st.stage_id AND dl.day = d.day
)
SELECT r.day, r.stage, r.stage_order AS "order", r.kind, CAST(r.wip AS BIGINT) AS wip, r.wip_limit
FROM running r, span s WHERE r.day >= s.first
ORDER BY r.day, r.stage_order, r.stage_id
"""

# Work item age of unfinished, committed items against the age at which finished (delivered)
# items last left each stage: past that stage's p85 an item is at risk.
AGEING = """
WITH last_exits AS (
    SELECT n, stage_id, arg_max(c_end, run_seq) AS c_exit
    FROM runs WHERE delivered_in_window AND kind <> 'done'
    GROUP BY n, stage_id
),
exits AS (
    SELECT e.stage_id, e.c_exit - i.c_committed AS age_at_exit
    FROM last_exits e JOIN items i ON i.n = e.n
    WHERE i.c_committed IS NOT NULL AND e.c_exit >= i.c_committed
),
bands AS (
    SELECT stage_id, quantile_cont(age_at_exit, 0.5) AS p50_hours,
           quantile_cont(age_at_exit, 0.85) AS p85_hours, quantile_cont(age_at_exit, 0.95) AS p95_hours
    FROM exits GROUP BY stage_id
)
SELECT i.key, i.type, st.stage, st.stage_order AS "order", st.kind, i.committed_at, i.stage_entered_at,
       i.age_h AS age_hours, i.stage_age_h AS stage_age_hours,
       b.p50_hours AS stage_p50_hours, b.p85_hours AS stage_p85_hours, b.p95_hours AS stage_p95_hours,
       coalesce(i.age_h > b.p85_hours, false) AS at_risk
FROM items i JOIN stages st ON st.stage_id = i.current_stage_id
LEFT JOIN bands b ON b.stage_id = i.current_stage_id
WHERE NOT i.finished AND i.committed_at IS NOT NULL AND i.in_window
ORDER BY i.age_h DESC, i.key
"""

# Little's law over the window, on the calendar clock (the law is about elapsed time): average
# WIP (committed, unfinished items at each local day's end) against throughput per day (every
# departure from WIP, cancelled included) times the mean cycle time of the items that departed.
LITTLES_LAW = """
WITH committed AS (
    SELECT committed_at, CASE WHEN finished THEN done_at END AS done_at FROM items WHERE committed_at IS NOT NULL
),
span AS (
    SELECT coalesce(CAST($win_from AS TIMESTAMPTZ), min(committed_at)) AS t0,
           least(coalesce(CAST($win_to AS TIMESTAMPTZ), CAST($as_of AS TIMESTAMPTZ)), CAST($as_of AS TIMESTAMPTZ)) AS t1
    FROM committed
),
deltas AS (
    SELECT local_day(committed_at, $tz) AS day, 1 AS delta FROM committed
    UNION ALL SELECT local_day(done_at, $tz), -1 FROM committed WHERE done_at IS NOT NULL
),
days AS (
    SELECT CAST(unnest(generate_series((SELECT min(day) FROM deltas), local_day(t1, $tz), INTERVAL 1 DAY)) AS DATE) AS day FROM span
),
daily_wip AS (
    SELECT d.day, sum(coalesce(x.delta, 0)) OVER (ORDER BY d.day ROWS UNBOUNDED PRECEDING) AS wip
    FROM days d LEFT JOIN (SELECT day, sum(delta) AS delta FROM deltas GROUP BY day) x ON x.day = d.day
),
departed AS (
    SELECT count(*) AS n, avg(epoch(c.done_at - c.committed_at) / 86400.0) AS mean_cycle_days
    FROM committed c, span s WHERE c.done_at >= s.t0 AND c.done_at < s.t1
)
SELECT s.t0 AS window_start, s.t1 AS window_end, epoch(s.t1 - s.t0) / 86400.0 AS window_days,
       (SELECT avg(wip) FROM daily_wip w WHERE w.day >= local_day(s.t0, $tz) AND w.day < local_day(s.t1, $tz)) AS average_wip,
       d.n AS departures,
       d.n / nullif(epoch(s.t1 - s.t0) / 86400.0, 0) AS throughput_per_day,
       d.mean_cycle_days AS mean_cycle_time_days
FROM span s, departed d
"""

# Items in the window whose export cut their changelog short: their first statuses and early
# stage times are unknown (their lead time, from creation to done, is still right).
TRUNCATED_HISTORY = """
SELECT count(*) AS items, coalesce(list(key ORDER BY key)[1:5], []) AS example_keys FROM items WHERE in_window AND history_truncated
"""

# ---- inputs of the decision layer (bottlenecks, changes, what-if, experiments) ----------------

# Every stay of the delivered items finished in the window (done stays left out), with what a
# replay needs: the stay's hours, its flagged hours, whether it returns to a stage the item had
# already been in (``revisit``) and whether the item went backwards from it (``sends_back``).
# Replays shorten stays and recompute lead times; item facts come from DELIVERED_ITEMS by ``n``.
DELIVERED_STAYS = """
SELECT r.n, r.run_seq, r.stage_id, r.kind, r.side, r.hours, r.blocked_h,
       r.run_seq > min(r.run_seq) OVER (PARTITION BY r.n, r.stage_id) AS revisit,
       coalesce(r.lin_start AND r.next_lin_order < r.stage_order, false) AS sends_back
FROM runs r
WHERE r.delivered_in_window AND r.kind <> 'done'
"""

DELIVERED_ITEMS = """
SELECT n, key, lead_h, cycle_h, flow_h, backlog_h, reopened_h, pt_h, wt_h, blocked_h, done_at, committed_at
FROM items WHERE finished_in_window AND delivered
ORDER BY n
"""

# Per item in the window that ever entered the stage ``$stage_id``: when it first entered, its
# time there (so far, for one still there), and its lead time (finished) or its age since
# creation (unfinished: counted through its age so far).
STAGE_ENTRIES = """
SELECT i.key, min(r.start) AS entered_at, sum(r.hours) AS stage_hours, bool_or(r.is_last) AS in_stage_now,
       any_value(i.finished) AS finished, any_value(i.delivered) AS delivered, any_value(i.cancelled) AS cancelled,
       any_value(CASE WHEN i.finished THEN i.lead_h ELSE i.flow_h + i.reopened_h END) AS lead_or_age_hours,
       any_value(i.cycle_h) AS cycle_hours, any_value(i.done_at) AS done_at
FROM runs r JOIN items i ON i.n = r.n
WHERE r.stage_id = $stage_id AND i.in_window
GROUP BY i.key
ORDER BY entered_at, i.key
"""

# Per wait stage: departures in the window and on how many distinct local days they happened
# (a release train leaves on few days, in batches).
DEPARTURE_DAYS = """
SELECT st.stage, count(*) AS departures, count(DISTINCT local_day(r."end", $tz)) AS departure_days,
       min(local_day(r."end", $tz)) AS first_day, max(local_day(r."end", $tz)) AS last_day
FROM runs r JOIN stages st ON st.stage_id = r.stage_id
WHERE r.in_window AND NOT r.is_last AND r.kind = 'wait'
GROUP BY st.stage
"""
