#!/usr/bin/env bash
# clock-sweep: runs `TESTS=pattern make test` once per fake wall clock, so that a
# test that passes only at some hours, weekdays or dates (a day computed in two
# zones, a cut-off at midnight, a month end, a DST change) fails here instead of
# in CI at 23:50 on a Sunday.  Not part of `make test`.
#
#   scripts/clock-sweep.sh PATTERN                              # the default clocks
#   scripts/clock-sweep.sh PATTERN 'YYYY-MM-DD HH:MM:SS' ...    # clocks of your own
#
# PATTERN is the TESTS regex of scripts/test.sh (pgTAP and shell tests match on
# their path, e.g. 'test/pgtap/'; pg_regress scenarios and isolation specs on
# their name).  Clocks are UTC.  Everything the run starts (make, the clients,
# every server process) sees the clock shifted so that it reads that instant
# when the run starts, and advancing normally from there: libfaketime with an
# offset (FAKETIME=+Ns; an offset, not '@', so that every process agrees however
# it was started).  The monotonic clock is left real (timeouts and latches
# behave), and so are files' times (NO_FAKE_STAT: make compares them).  Do not
# run two sweeps, or a sweep and a `make test`, in one checkout at once: each
# run's `make` may relink the module the other one is installing.
#
# libfaketime's select(), poll() and epoll_wait() wrappers turn faking off
# around the real call, so a signal handler that runs inside one reads the real
# clock.  PostgreSQL 15 does both: its postmaster forks background workers (the
# event writer), the walwriter and the launchers from a handler inside
# select(), and those processes then read the real clock for their whole life
# (a detached event stamped with the real date, a count with the fake one); a
# backend waiting for a lock takes SIGALRM inside epoll_wait(), its timeout
# handler compares the real clock with a fake deadline, and the deadlock check
# never runs (a lock queue the detector would have rearranged in 1 s hung for
# minutes).  A small shim, built by this script and preloaded before
# libfaketime, makes those three calls the system calls themselves.
#
# pg_regress and the isolation tester set PGTZ=PST8PDT for their sessions: their
# day turns at 08:00 UTC (07:00 in summer), which the default clocks cover too.
# Set CLOCK_SERVER_TZ to a zone name to initdb the clusters in that zone
# (default UTC).
#
# Installs libfaketime (Debian package faketime) when missing (root: apt-get).
# Prints one line per clock, "CLOCK (weekday)  N passed, N failed", with the
# failing tests; keeps each run's output in CLOCK_LOGS (default: a new directory
# under /tmp); exits 1 when any run failed.  A failed run also keeps its
# cluster's directory (the line "(logs kept in ...)"): remove it when done.
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"

if [ $# -lt 1 ] || [ -z "$1" ]; then
    sed -n '2,/^set /p' "$0" | sed -e '/^set /d' -e 's/^# \{0,1\}//' >&2
    exit 2
fi
PATTERN=$1
shift

# Default clocks (UTC): around midnight on a weekday, the middle of the
# afternoon (Asia's next day), around 08:00 (pg_regress's PST8PDT midnight), a
# Saturday, a Sunday near midnight, a Monday just after midnight (a new ISO
# week), month ends (31 and 28 days, and a leap 29 February), the year's last
# and first minutes, and the DST changes of Europe (last Sunday of March and
# October, 01:00 UTC) and of the USA (second Sunday of March, first Sunday of
# November).
DEFAULT_CLOCKS=(
    '2026-12-08 23:50:00'
    '2026-12-09 00:10:00'
    '2026-12-08 15:30:00'
    '2026-12-09 07:55:00'
    '2026-12-09 08:05:00'
    '2026-12-12 12:00:00'
    '2026-12-13 23:55:00'
    '2026-12-14 00:10:00'
    '2027-01-31 23:55:00'
    '2027-02-28 23:55:00'
    '2028-02-29 12:00:00'
    '2027-12-31 23:55:00'
    '2028-01-01 00:05:00'
    '2027-03-28 00:55:00'
    '2027-03-28 01:05:00'
    '2027-03-14 09:55:00'
    '2027-03-14 10:05:00'
    '2027-10-31 00:55:00'
    '2027-10-31 01:05:00'
    '2027-11-07 09:05:00'
)
if [ $# -gt 0 ]; then CLOCKS=("$@"); else CLOCKS=("${DEFAULT_CLOCKS[@]}"); fi
for c in "${CLOCKS[@]}"; do
    [[ $c =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] && date -u -d "$c" >/dev/null 2>&1 ||
        { echo "clock-sweep: not a clock 'YYYY-MM-DD HH:MM:SS': $c" >&2; exit 2; }
done

LIBFAKETIME=
find_lib() {
    local f
    for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
             /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
             /usr/lib/faketime/libfaketime.so.1; do
        [ -f "$f" ] && { LIBFAKETIME=$f; return 0; }
    done
    return 1
}
if ! find_lib; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "clock-sweep: libfaketime is missing; as root: apt-get install -y faketime" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends faketime >/dev/null ||
        { echo "clock-sweep: apt-get install faketime failed" >&2; exit 1; }
    find_lib || { echo "clock-sweep: libfaketime.so.1 not found after installing faketime" >&2; exit 1; }
fi

LOGS=${CLOCK_LOGS:-$(mktemp -d /tmp/clock-sweep.XXXXXX)}
mkdir -p "$LOGS"

# select(), poll() and epoll_wait() as system calls, preloaded before libfaketime
# (see above); the kernel's pselect6 writes the time left back, as select() does.
cat >"$LOGS/select_shim.c" <<'SHIM'
/* clock-sweep's select(), poll() and epoll_wait(): the system calls, outside libfaketime's wrappers. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KERNEL_SIGSET_SIZE 8

int			select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv);
int			poll(struct pollfd *fds, nfds_t nfds, int timeout);
int			epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);

int
select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	struct timespec ts;
	int			rc;

	if (tv == NULL)
		return (int) syscall(SYS_pselect6, nfds, r, w, e, NULL, NULL);
	ts.tv_sec = tv->tv_sec;
	ts.tv_nsec = tv->tv_usec * 1000;
	rc = (int) syscall(SYS_pselect6, nfds, r, w, e, &ts, NULL);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return rc;
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec ts;

	if (timeout < 0)
		return (int) syscall(SYS_ppoll, fds, nfds, NULL, NULL, KERNEL_SIGSET_SIZE);
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (long) (timeout % 1000) * 1000000;
	return (int) syscall(SYS_ppoll, fds, nfds, &ts, NULL, KERNEL_SIGSET_SIZE);
}

int
epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	return (int) syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout, NULL, KERNEL_SIGSET_SIZE);
}
SHIM
cc -O2 -Wall -shared -fPIC -o "$LOGS/select_shim.so" "$LOGS/select_shim.c" ||
    { echo "clock-sweep: cannot build the select() shim" >&2; exit 1; }

any_failed=0
for c in "${CLOCKS[@]}"; do
    log="$LOGS/$(tr ' :' '_-' <<<"$c").log"
    offset=$(( $(date -u -d "$c" +%s) - $(date -u +%s) ))
    sign=+
    [ "$offset" -lt 0 ] && { sign=-; offset=$(( -offset )); }
    TZ=${CLOCK_SERVER_TZ:-UTC} TESTS=$PATTERN \
        LD_PRELOAD="$LOGS/select_shim.so $LIBFAKETIME" FAKETIME="$sign$offset" \
        FAKETIME_DONT_FAKE_MONOTONIC=1 NO_FAKE_STAT=1 \
        make --no-print-directory test >"$log" 2>&1
    rc=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    printf '%s (%s)  %s\n' "$c" "$(date -u -d "$c" +%a)" "${summary:-no summary (see $log)}"
    if [ $rc -ne 0 ]; then
        any_failed=1
        grep -E '^failed: |^\(logs kept in ' "$log" | sed 's/^/    /'
    fi
done
echo "logs: $LOGS"
exit $any_failed
