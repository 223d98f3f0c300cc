-- 96_breakplan_dst_midnight.sql (break-it pass on issue 15, helper breakplan).
-- The pick-exception detector builds its days with
--   generate_series(CURRENT_DATE - 89, CURRENT_DATE, interval '1 day')
-- which runs on timestamptz in the session's TimeZone.  Where daylight saving
-- time starts at midnight (America/Santiago in September, Africa/Cairo in
-- April, America/Havana in March), the day of the change has no 00:00: the
-- series steps to 01:00 that day and stays at 01:00 on every later day, so
-- its last value, CURRENT_DATE 01:00, is past its end, CURRENT_DATE 00:00.
-- For the 89 days after such a change, TODAY is not in the series: a burst
-- of pick exceptions today is not found today (it is found tomorrow, as
-- yesterday's).  Checked by hand in America/Santiago: on 2026-09-10 the
-- series ends on 2026-09-09.
-- The test uses a POSIX zone whose DST began at midnight ten days ago (the
-- rule is computed from today), so that it fails on any date, as Santiago
-- does from September to early December.
-- FAILS on the code as merged (c8cb77e): assertion 3.
BEGIN;
SELECT plan(3);

INSERT INTO erp.node (code) VALUES ('BPD-DC');
-- a pick exception every fifth day for 60 days, and 8 now: a burst today
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{}'
  FROM erp.node n, generate_series(1, 60) d WHERE n.code = 'BPD-DC' AND d % 5 = 0;
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now(), '{}' FROM erp.node n, generate_series(1, 8) e WHERE n.code = 'BPD-DC';

SAVEPOINT utc;
SET LOCAL TimeZone = 'UTC';
SELECT is((SELECT erp.detect_anomalies()), 1, 'in UTC the burst of today is found');
ROLLBACK TO utc;

-- UTC-4 in winter, UTC-3 in summer; summer time began at 00:00 ten days ago
-- (Jn: day n of the year, 1 to 365, February 29 never counted)
SELECT set_config('timezone',
                  format('BPS4BPD,J%s/0,J%s/0', s, ((s + 100 - 1) % 365) + 1), true)
  FROM (SELECT ((extract(doy FROM CURRENT_DATE - 10)::int - 1) % 365) + 1 AS s) x;
SELECT ok(EXISTS (SELECT 1 FROM generate_series(1, 30) k WHERE extract(hour FROM (CURRENT_DATE - k)::timestamptz) = 1),
    'in this zone a day of the last month had no midnight (its day began at 01:00)');
SELECT is((SELECT erp.detect_anomalies()), 1,
    'where summer time begins at midnight, the burst of today is found too (it is not: today is not among the days judged)');

SELECT * FROM finish();
ROLLBACK;
