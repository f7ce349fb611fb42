"""Every SQL statement of the flow measures, in one place.

Values are always bound parameters (``$name``); the only text put into a statement is the
issue-filter condition, built by ``scope.issue_filter_sql`` from a fixed allow-list of
clauses. ``tests/test_metrics_sql.py`` runs every statement here.

Durations are read on the chosen clock through ``clock_h(t, $working, $tz, $holidays)``: a
position in hours, so that the time between two instants is a subtraction. Percentiles are
``quantile_cont`` everywhere: linear interpolation between the closest ranks (NumPy's default,
Excel's PERCENTILE.INC).

The prepared tables, built once per (dataset version, stage map, filters, clock):

* ``smap``  one row per status (lower-cased) and its stage.
* ``stages`` one row per stage, with the statuses merged into it.
* ``scope`` the issues the filters keep (the date window is not applied here).
* ``runs``  stage runs: consecutive status visits in the same stage merged into one stay, with
  clock positions ``c_start``/``c_end`` and ``blocked_h`` (flagged time inside the stay).
* ``items`` one row per issue: commitment, finish, lead/cycle/flow/reopened time, process
  and wait time, current stage and age, and whether it falls in the date window.
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

CLOCK_PARAMS = ("working", "tz", "holidays")

STAGE_MAP_TABLES = (
    """CREATE OR REPLACE TEMP TABLE stages (
        stage VARCHAR, stage_order INTEGER, kind VARCHAR, side BOOLEAN, cancelled BOOLEAN,
        wip_limit INTEGER, statuses VARCHAR[], new BOOLEAN)""",
    "CREATE OR REPLACE TEMP TABLE smap (status_l VARCHAR, stage VARCHAR)",
)
INSERT_STAGE = "INSERT INTO stages VALUES ($stage, $stage_order, $kind, $side, $cancelled, $wip_limit, $statuses, $new)"
INSERT_STATUS = "INSERT INTO smap VALUES ($status_l, $stage)"

# {condition} is scope.issue_filter_sql's allow-listed condition (bound parameters only).
SCOPE = """
CREATE OR REPLACE TEMP TABLE scope AS
SELECT key, type, project, parent, created,
       coalesce(changelog_total > changelog_present, false) AS history_truncated
FROM issues WHERE {condition}
"""

# The base tables: one per (data version, stage map, clock), for every issue (filters come
# later), so they can be kept on disk and shared by every view of that data.
BASE_FLAG_SPANS = """
CREATE OR REPLACE TEMP TABLE flag_spans AS
WITH changes AS (
    SELECT key, time, coalesce(to_value, '') <> '' AS flagged,
           row_number() OVER (PARTITION BY key ORDER BY time, history_id NULLS LAST, item_seq) AS n
    FROM field_changes WHERE field = 'flagged'
),
spans AS (
    SELECT key, flagged, time AS t_from, lead(time) OVER (PARTITION BY key ORDER BY n) AS t_to FROM changes
),
bounded AS (
    SELECT sp.key, least(greatest(sp.t_from, i.created), i.horizon) AS t_from,
           least(greatest(coalesce(sp.t_to, i.horizon), i.created), i.horizon) AS t_to
    FROM spans sp JOIN (SELECT key, created, greatest(CAST($as_of AS TIMESTAMPTZ), created) AS horizon FROM issues) i ON i.key = sp.key
    WHERE sp.flagged
)
SELECT key, clock_h(t_from, $working, $tz, $holidays) AS c_from, clock_h(t_to, $working, $tz, $holidays) AS c_to
FROM bounded WHERE t_to > t_from
"""

# Stage stays ("runs"), with what rework, %C&A and ageing need precomputed per stay:
# ``lin_start`` marks the first stay of each step of the linear path (side states left out,
# consecutive stays in one stage merged); on those rows ``next_lin_stage``/``next_lin_order``
# name the next step and ``later_min_order`` the earliest stage order the issue enters after
# this step. ``last_in_stage`` marks an issue's last stay in a stage.
BASE_RUNS = """
CREATE OR REPLACE TEMP TABLE base_runs AS
WITH sv AS (
    SELECT v.key, v.visit_seq, m.stage, v.start, v."end"
    FROM visits v JOIN smap m ON m.status_l = lower(v.status)
),
marked AS (
    SELECT *, CASE WHEN lag(stage) OVER (PARTITION BY key ORDER BY visit_seq) IS DISTINCT FROM stage THEN 1 ELSE 0 END AS new_run
    FROM sv
),
numbered AS (
    SELECT key, stage, start, "end",
           sum(new_run) OVER (PARTITION BY key ORDER BY visit_seq ROWS UNBOUNDED PRECEDING) AS run_seq
    FROM marked
),
merged AS (
    SELECT key, run_seq, any_value(stage) AS stage, min(start) AS start, max("end") AS "end"
    FROM numbered GROUP BY key, run_seq
),
clocked AS (
    SELECT m.*, st.stage_order, st.kind, st.side, st.cancelled,
           clock_h(m.start, $working, $tz, $holidays) AS c_start,
           clock_h(m."end", $working, $tz, $holidays) AS c_end
    FROM merged m JOIN stages st ON st.stage = m.stage
),
blocked AS (
    SELECT r.key, r.run_seq, sum(least(r.c_end, f.c_to) - greatest(r.c_start, f.c_from)) AS blocked_h
    FROM clocked r JOIN flag_spans f ON f.key = r.key AND f.c_from < r.c_end AND f.c_to > r.c_start
    GROUP BY ALL
),
linear AS (
    SELECT key, run_seq, stage, stage_order,
           lag(stage) OVER (PARTITION BY key ORDER BY run_seq) IS DISTINCT FROM stage AS lin_start
    FROM clocked WHERE NOT side
),
path AS (
    SELECT key, run_seq,
           lead(stage) OVER w AS next_lin_stage, lead(stage_order) OVER w AS next_lin_order,
           min(stage_order) OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_min_order
    FROM linear WHERE lin_start
    WINDOW w AS (PARTITION BY key ORDER BY run_seq)
)
SELECT c.key, c.run_seq, c.stage, c.stage_order, c.kind, c.side, c.cancelled, c.start, c."end", c.c_start, c.c_end,
       c.c_end - c.c_start AS hours, coalesce(b.blocked_h, 0) AS blocked_h,
       max(c.run_seq) OVER (PARTITION BY c.key) AS last_run,
       c.run_seq = max(c.run_seq) OVER (PARTITION BY c.key, c.stage) AS last_in_stage,
       p.key IS NOT NULL AS lin_start, p.next_lin_stage, p.next_lin_order, p.later_min_order
FROM clocked c
LEFT JOIN blocked b ON b.key = c.key AND b.run_seq = c.run_seq
LEFT JOIN path p ON p.key = c.key AND p.run_seq = c.run_seq
"""

# Per issue. ``done_from`` is the first run of the trailing group of done runs: the final entry
# into done. Done runs before it are reopened time; time in non-done runs is flow time.
BASE_ITEMS = """
CREATE OR REPLACE TEMP TABLE base_items AS
WITH marks AS (
    SELECT key,
           coalesce(max(run_seq) FILTER (WHERE kind <> 'done'), 0) + 1 AS done_from,
           min(run_seq) FILTER (WHERE kind IN ('wait', 'active')) AS commit_run
    FROM base_runs GROUP BY key
),
per_item AS (
    SELECT r.key,
           bool_or(r.run_seq = r.last_run AND r.kind = 'done') AS finished,
           bool_or(r.run_seq = r.last_run AND r.cancelled) AS cancelled,
           min(r.start) FILTER (WHERE r.run_seq = m.commit_run) AS committed_at,
           min(r.c_start) FILTER (WHERE r.run_seq = m.commit_run) AS c_committed,
           min(r.start) FILTER (WHERE r.run_seq = m.done_from) AS done_at,
           min(r.c_start) FILTER (WHERE r.run_seq = m.done_from) AS c_done,
           min(r.c_start) AS c_created,
           max(r.c_end) AS c_horizon,
           max(r."end") AS horizon,
           coalesce(sum(r.hours) FILTER (WHERE r.kind <> 'done'), 0) AS flow_h,
           coalesce(sum(r.hours) FILTER (WHERE r.kind = 'done' AND r.run_seq < m.done_from), 0) AS reopened_h,
           coalesce(sum(r.hours - r.blocked_h) FILTER (WHERE r.kind = 'active'), 0) AS pt_h,
           coalesce(sum(CASE WHEN r.kind = 'active' THEN r.blocked_h
                             WHEN r.kind = 'wait' THEN r.hours
                             WHEN r.kind = 'backlog' AND r.run_seq > m.commit_run THEN r.hours END), 0) AS wt_h,
           coalesce(sum(r.blocked_h) FILTER (WHERE r.kind <> 'done'), 0) AS blocked_h,
           coalesce(sum(r.hours) FILTER (WHERE r.kind = 'backlog' AND (m.commit_run IS NULL OR r.run_seq < m.commit_run)), 0) AS backlog_h,
           any_value(r.stage) FILTER (WHERE r.run_seq = r.last_run) AS current_stage,
           any_value(r.kind) FILTER (WHERE r.run_seq = r.last_run) AS current_kind,
           max(r.hours) FILTER (WHERE r.run_seq = r.last_run) AS stage_age_h,
           max(r.start) FILTER (WHERE r.run_seq = r.last_run) AS stage_entered_at
    FROM base_runs r JOIN marks m ON m.key = r.key
    GROUP BY r.key
)
SELECT p.key, p.committed_at, p.done_at, p.c_committed, p.horizon,
       p.finished, p.finished AND p.cancelled AS cancelled, p.finished AND NOT p.cancelled AS delivered,
       CASE WHEN p.finished THEN p.c_done - p.c_created END AS lead_h,
       CASE WHEN p.finished THEN p.c_done - p.c_committed END AS cycle_h,
       p.flow_h, p.reopened_h, p.pt_h, p.wt_h, p.blocked_h, p.backlog_h,
       p.current_stage, p.current_kind, p.stage_entered_at,
       CASE WHEN NOT p.finished THEN p.stage_age_h END AS stage_age_h,
       CASE WHEN NOT p.finished THEN p.c_horizon - p.c_committed END AS age_h
FROM per_item p
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
FROM {base_runs} r JOIN items i ON i.key = r.key
"""
RUNS_SOURCES = {"built": "base_runs", "saved": "read_parquet($runs_file)"}

STAGES = """
WITH per_item AS (
    SELECT key, stage, count(*) AS visits, sum(hours) AS hours, sum(blocked_h) AS blocked_h
    FROM runs WHERE in_window
    GROUP BY key, stage
),
visited AS (
    SELECT stage, count(*) AS items, CAST(sum(visits) AS BIGINT) AS visits,
           quantile_cont(hours, 0.5) AS median_hours, quantile_cont(hours, 0.85) AS p85_hours,
           quantile_cont(hours, 0.95) AS p95_hours, sum(hours) AS total_hours, sum(blocked_h) AS blocked_hours
    FROM per_item GROUP BY stage
),
finished_per_item AS (
    SELECT key, stage, sum(hours) AS hours
    FROM runs WHERE delivered_in_window AND kind <> 'done'
    GROUP BY key, stage
),
finished AS (
    SELECT stage, count(*) AS finished_items, sum(hours) AS hours,
           quantile_cont(hours, 0.5) AS finished_median_hours, quantile_cont(hours, 0.85) AS finished_p85_hours
    FROM finished_per_item GROUP BY stage
),
flow AS (
    SELECT count(*) AS n, sum(flow_h) AS flow_h FROM items WHERE finished_in_window AND delivered
),
now AS (
    SELECT current_stage AS stage, count(*) AS items_now,
           quantile_cont(stage_age_h, 0.5) AS median_age_now_hours, max(stage_age_h) AS oldest_age_now_hours
    FROM items WHERE NOT finished GROUP BY current_stage
)
SELECT st.stage, st.statuses, st.kind, st.stage_order AS "order", st.side, st.cancelled, st.wip_limit, st.new,
       coalesce(v.items, 0) AS items, coalesce(v.visits, 0) AS visits,
       v.median_hours, v.p85_hours, v.p95_hours, coalesce(v.total_hours, 0) AS total_hours,
       CASE WHEN st.kind = 'done' THEN NULL WHEN fl.flow_h > 0 THEN coalesce(f.hours, 0) / fl.flow_h ELSE NULL END AS share_of_lead_time,
       CASE WHEN st.kind = 'done' THEN NULL WHEN fl.n > 0 THEN coalesce(f.hours, 0) / fl.n / 24 ELSE NULL END AS days_of_lead_time,
       coalesce(f.finished_items, 0) AS finished_items, f.finished_median_hours, f.finished_p85_hours,
       CASE st.kind WHEN 'active' THEN coalesce(v.blocked_hours, 0) WHEN 'wait' THEN coalesce(v.total_hours, 0) END AS wait_hours,
       CASE st.kind WHEN 'active' THEN coalesce(v.total_hours, 0) - coalesce(v.blocked_hours, 0) WHEN 'wait' THEN 0 END AS active_hours,
       CASE WHEN st.kind <> 'done' THEN coalesce(v.blocked_hours, 0) END AS blocked_hours,
       coalesce(n.items_now, 0) AS items_now, n.median_age_now_hours, n.oldest_age_now_hours
FROM stages st
LEFT JOIN visited v ON v.stage = st.stage
LEFT JOIN finished f ON f.stage = st.stage
LEFT JOIN now n ON n.stage = st.stage
CROSS JOIN flow fl
ORDER BY st.stage_order
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
# that end in the week by a move (the last stay of an issue never departs).
NET_FLOW_WEEKLY = """
WITH moves AS (
    SELECT stage, local_week(start, $tz) AS week, 1 AS arrivals, 0 AS departures FROM runs WHERE in_window
    UNION ALL
    SELECT stage, local_week("end", $tz), 0, 1 FROM runs WHERE in_window AND run_seq < last_run
),
bounded AS (
    SELECT * FROM moves
    WHERE ($win_from IS NULL OR week >= local_week(CAST($win_from AS TIMESTAMPTZ), $tz))
      AND ($win_to IS NULL OR week <= local_week(CAST($win_to AS TIMESTAMPTZ) - INTERVAL 1 MICROSECOND, $tz))
)
SELECT b.stage, st.stage_order AS "order", b.week, CAST(sum(b.arrivals) AS BIGINT) AS arrivals,
       CAST(sum(b.departures) AS BIGINT) AS departures, CAST(sum(b.arrivals) - sum(b.departures) AS BIGINT) AS net_flow
FROM bounded b JOIN stages st ON st.stage = b.stage
GROUP BY b.stage, st.stage_order, b.week ORDER BY b.week, st.stage_order
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
    SELECT stage, coalesce(later_min_order <= stage_order, false) AS came_back
    FROM runs WHERE in_window AND lin_start AND next_lin_order > stage_order
)
SELECT st.stage, st.stage_order AS "order", st.kind,
       count(f.stage) AS forward_departures,
       count(f.stage) FILTER (WHERE f.came_back) AS returned,
       CASE WHEN count(f.stage) > 0 THEN count(f.stage) FILTER (WHERE NOT f.came_back) / count(f.stage) END AS pct_complete_accurate
FROM stages st LEFT JOIN forward f ON f.stage = st.stage
WHERE st.kind <> 'done' AND NOT st.side
GROUP BY st.stage, st.stage_order, st.kind ORDER BY st.stage_order
"""

REWORK_LOOPS = """
SELECT stage AS from_stage, next_lin_stage AS to_stage, count(*) AS moves, count(DISTINCT key) AS items,
       list(DISTINCT key ORDER BY key)[1:5] AS example_keys
FROM runs WHERE in_window AND lin_start AND next_lin_order < stage_order
GROUP BY stage, stage_order, next_lin_stage, next_lin_order
ORDER BY moves DESC, stage_order, next_lin_order
"""

# A handoff: the assignee becomes someone other than the last person assigned, while the issue
# is in a committed stage (wait or active, side states included). First assignments and
# un-assignments are not handoffs.
HANDOFF_EVENTS = """
WITH changes AS (
    SELECT fc.key, fc.time, nullif(fc.to_value, '') AS to_person,
           coalesce(last_value(nullif(fc.to_value, '') IGNORE NULLS) OVER w, nullif(first_value(fc.from_value) OVER w0, '')) AS before_person
    FROM field_changes fc SEMI JOIN scope s ON s.key = fc.key
    WHERE fc.field = 'assignee'
    WINDOW w AS (PARTITION BY fc.key ORDER BY fc.time, fc.history_id NULLS LAST, fc.item_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           w0 AS (PARTITION BY fc.key ORDER BY fc.time, fc.history_id NULLS LAST, fc.item_seq ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
handoffs AS (
    SELECT key, time FROM changes WHERE to_person IS NOT NULL AND before_person IS NOT NULL AND to_person <> before_person
)
SELECT h.key, r.stage, h.time
FROM handoffs h
JOIN runs r ON r.key = h.key AND h.time >= r.start AND (h.time < r."end" OR (r.run_seq = r.last_run AND h.time <= r."end"))
WHERE r.kind IN ('wait', 'active') AND r.in_window
"""

HANDOFFS_BY_STAGE = """
WITH e AS ({events}),
per_stage AS (SELECT stage, count(*) AS handoffs, count(DISTINCT key) AS items_with_handoffs FROM e GROUP BY stage)
SELECT st.stage, st.stage_order AS "order", coalesce(p.handoffs, 0) AS handoffs, coalesce(p.items_with_handoffs, 0) AS items_with_handoffs
FROM stages st LEFT JOIN per_stage p ON p.stage = st.stage
WHERE st.kind IN ('wait', 'active')
ORDER BY st.stage_order
""".replace("{events}", HANDOFF_EVENTS)

HANDOFFS_PER_ITEM = """
WITH e AS ({events})
SELECT i.key, count(e.key) AS handoffs
FROM items i LEFT JOIN e ON e.key = i.key
WHERE i.in_window AND i.committed_at IS NOT NULL
GROUP BY i.key ORDER BY handoffs DESC, i.key
""".replace("{events}", HANDOFF_EVENTS)

# Items in each stage at the end of each local day (the cumulative flow diagram's bands), from
# +1 on the day a stay starts and -1 on the day it ends: a stay is counted on a day when it
# covers that day's end. Days run from the first day of the window (else of the data) to the
# as-of day (or the window's last day, when earlier).
WIP_DAILY = """
WITH deltas AS (
    SELECT stage, local_day(start, $tz) AS day, 1 AS delta FROM runs WHERE in_window
    UNION ALL
    SELECT stage, local_day("end", $tz), -1 FROM runs WHERE in_window AND run_seq < last_run
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
daily AS (SELECT stage, day, sum(delta) AS delta FROM deltas GROUP BY stage, day),
running AS (
    SELECT d.day, st.stage, st.stage_order, st.kind, st.wip_limit,
           sum(coalesce(dl.delta, 0)) OVER (PARTITION BY st.stage ORDER BY d.day ROWS UNBOUNDED PRECEDING) AS wip
    FROM days d CROSS JOIN stages st
    LEFT JOIN daily dl ON dl.stage = st.stage AND dl.day = d.day
)
SELECT r.day, r.stage, r.stage_order AS "order", r.kind, CAST(r.wip AS BIGINT) AS wip, r.wip_limit
FROM running r, span s WHERE r.day >= s.first
ORDER BY r.day, r.stage_order
"""

# Work item age of unfinished, committed items against the age at which finished (delivered)
# items last left each stage: past that stage's p85 an item is at risk.
AGEING = """
WITH exits AS (
    SELECT r.stage, r.c_end - i.c_committed AS age_at_exit
    FROM runs r JOIN items i ON i.key = r.key
    WHERE r.delivered_in_window AND r.last_in_stage AND r.kind <> 'done' AND r.c_end >= i.c_committed
),
bands AS (
    SELECT stage, count(*) AS finished_items, quantile_cont(age_at_exit, 0.5) AS p50_hours,
           quantile_cont(age_at_exit, 0.85) AS p85_hours, quantile_cont(age_at_exit, 0.95) AS p95_hours
    FROM exits GROUP BY stage
)
SELECT i.key, i.type, i.current_stage AS stage, st.stage_order AS "order", st.kind, i.committed_at, i.stage_entered_at,
       i.age_h AS age_hours, i.stage_age_h AS stage_age_hours,
       b.p50_hours AS stage_p50_hours, b.p85_hours AS stage_p85_hours, b.p95_hours AS stage_p95_hours,
       coalesce(i.age_h > b.p85_hours, false) AS at_risk
FROM items i JOIN stages st ON st.stage = i.current_stage
LEFT JOIN bands b ON b.stage = i.current_stage
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
