#!/usr/bin/env bash
# fuzz: every public function of schema erp, called with generated edge input
# (NULLs, 0, -1, int32/int64 extremes, huge, empty and multibyte strings, JSON
# of every wrong shape, 1e400, dates and timestamps at +-infinity and BC,
# unknown ids, existing documents in the wrong status), on a small seeded shop
# (test/fuzz/seed.sql).  The calls are enumerated from pg_proc and generated
# deterministically (test/fuzz/harness.sql says how); about 1,500 of them, run
# twice: as the superuser and as a login that is a member of erp_operator.
# Each call must succeed or be refused with a documented IE code (42501 where
# the role has no right); a refused call must change no erp table; after a
# successful call the views, erp.allocate_pending() and erp.verify() must still
# work; and the server must not crash (a crash ends the session and restarts
# the server: detected here, recorded, and the run goes on with the next call).
# Prints every violation, grouped by function.  Runs its own throwaway cluster.
# Exit 0 = no violation.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"

FZ=$WORK/fuzz
DATA=$FZ/data
cleanup() { pg_stop "$DATA"; }
trap cleanup EXIT
mkdir -p "$FZ"
chmod 755 "$WORK" "$FZ"
pg_start "$DATA" "$(pg_free_port)" fsync=off log_min_messages=warning || exit 1
LOG=$DATA/server.log

psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d fuzz "$@"; }
"$PGBIN/createdb" -U postgres fuzz || exit 1
echo "== cluster up after $SECONDS s; seeding a small shop (documents in every status)"
psql_ -U postgres -f "$REPO_ROOT/test/fuzz/seed.sql" >/dev/null || exit 1
echo "== generating the calls"
psql_ -U postgres -f "$REPO_ROOT/test/fuzz/harness.sql" || exit 1
psql_ -U postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS fuzz_op" -c "CREATE ROLE fuzz_op LOGIN IN ROLE erp_operator" >/dev/null || exit 1
TOTAL=$(psql_ -U postgres -At -c "SELECT max(id) FROM fuzz.call")
# no calls generated would leave nothing to violate: the run would pass vacuously
[ "${TOTAL:-0}" -ge 1000 ] 2>/dev/null || { echo "the harness generated ${TOTAL:-no} calls, expected about 1,500"; exit 1; }
echo "   (set up in $SECONDS s)"

crashes_in_log() { grep -cE 'terminated by signal|was terminated by exception|server process .* exited with exit code [^0]' "$LOG"; }

# wait_up: until the server accepts connections again (after a crash restart)
wait_up() {
    local i
    for i in $(seq 1 120); do
        "$PGBIN/psql" -X -q -At -U postgres -d fuzz -c 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

# fuzz_run RUN USER SUPERUSER: all calls as USER; a session that dies is recorded
# against the call it was running (the first without a committed result)
SESSION_LIMIT=${FUZZ_SESSION_LIMIT:-600}

fuzz_run() {
    local run=$1 user=$2 su=$3 first=1 next rc crashes ends=0
    local t0=$SECONDS
    echo "== run '$run': $TOTAL calls as $user"
    while [ "$first" -le "$TOTAL" ]; do
        crashes=$(crashes_in_log)
        # the timeout bounds one session (the calls from $first on), not one call: a
        # loaded 2-core machine took 157 s for a whole run, so it is generous
        PGAPPNAME=fuzz-$run timeout "$SESSION_LIMIT" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$user" -d fuzz \
            -c "SET client_min_messages = error" -c "CALL fuzz.run('$run', $first, $su)" >"$FZ/$run.out" 2>&1
        rc=$?
        [ $rc -eq 0 ] && break
        wait_up || { echo "the server did not come back"; cat "$FZ/$run.out"; return 1; }
        # a client that timed out leaves its backend running the calls: end it
        psql_ -U postgres -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fuzz-$run'" >/dev/null
        ends=$((ends + 1))
        if [ $ends -gt 20 ]; then echo "   more than 20 sessions ended: giving up on run '$run'"; return 1; fi
        next=$(psql_ -U postgres -At -c "SELECT coalesce(max(id), 0) + 1 FROM fuzz.result WHERE run = '$run'")
        if [ "$next" -gt "$TOTAL" ]; then break; fi
        local what="the session ended"
        [ "$(crashes_in_log)" -gt "$crashes" ] && what="SERVER CRASH (the server restarted)"
        [ $rc -eq 124 ] && what="no answer within $SESSION_LIMIT s"
        psql_ -U postgres -v run="$run" -v id="$next" -v what="$what: $(tail -3 "$FZ/$run.out" | tr '\n' ' ')" <<'SQL' >/dev/null
INSERT INTO fuzz.result SELECT :'run', c.id, c.fname, c.label, 'CRASH', NULL, :'what' FROM fuzz.call c WHERE c.id = :id;
SQL
        echo "   call $next: $what"
        first=$((next + 1))
    done
    echo "   ($((SECONDS - t0)) s)"
}

fuzz_run superuser postgres true
fuzz_run operator fuzz_op false

echo "== results"
psql_ -U postgres -At -F ' ' -c "
SELECT run, count(*) AS calls, count(*) FILTER (WHERE sqlstate = '00000') AS succeeded,
       count(*) FILTER (WHERE sqlstate LIKE 'IE%' OR sqlstate = '42501') AS refused,
       count(violation) AS violations
  FROM fuzz.result GROUP BY run ORDER BY run" |
    while read -r run calls ok refused bad; do
        printf '   %-10s %5s calls: %5s succeeded, %5s refused with IE/42501, %s violation(s)\n' "$run" "$calls" "$ok" "$refused" "$bad"
    done
VIOLATIONS=$(psql_ -U postgres -At -c "SELECT count(*) FROM fuzz.result WHERE violation IS NOT NULL")
MISSING=$(psql_ -U postgres -At -c "SELECT count(*) FROM fuzz.call c CROSS JOIN (VALUES ('superuser'), ('operator')) r(run)
                                     WHERE NOT EXISTS (SELECT FROM fuzz.result x WHERE x.run = r.run AND x.id = c.id)")
if [ "$VIOLATIONS" -gt 0 ]; then
    echo "== violations, by function (run, call id: call -> SQLSTATE message: what is wrong)"
    psql_ -U postgres -At -c "
SELECT CASE WHEN lag(fname) OVER w IS DISTINCT FROM fname THEN E'\n' || 'erp.' || fname || E':\n' ELSE '' END ||
       format('  [%s #%s] %s%s -> %s %s: %s', run, id, left(label, 400), CASE WHEN length(label) > 400 THEN '...' ELSE '' END,
              sqlstate, coalesce(message, ''), violation)
  FROM fuzz.result WHERE violation IS NOT NULL
WINDOW w AS (ORDER BY fname, run DESC, id) ORDER BY fname, run DESC, id"
fi
CRASHES=$(crashes_in_log)
echo "== $VIOLATIONS violation(s), $CRASHES server crash(es) in the log, $MISSING call(s) without a result"
[ "$VIOLATIONS" -eq 0 ] && [ "$CRASHES" -eq 0 ] && [ "$MISSING" -eq 0 ]
