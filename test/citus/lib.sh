# shellcheck shell=bash
# Sourced by test/citus/run.sh and bench/citus.sh: a throwaway Citus cluster of
# one coordinator and two workers, each a cluster of the private PostgreSQL copy
# (scripts/pgenv.sh's pg_private_install, which copies the system's lib and
# share directories: a Citus installed into the system PostgreSQL 15 is in it).
# All three listen on localhost TCP (Citus's nodes connect to each other by
# host and port) on free ports, with trust authentication (initdb -A trust).

# citus_available: whether citus.so and citus.control are in the private copy ($PGBIN).
citus_available() {
    local root=${PGBIN%/usr/lib/postgresql/*}
    [ -f "$root/usr/lib/postgresql/$PGVER/lib/citus.so" ] &&
        [ -f "$root/usr/share/postgresql/$PGVER/extension/citus.control" ]
}

# citus_start DIR [postgres -c options...]: starts the coordinator (DIR/coord) and two
# workers (DIR/w1, DIR/w2).  Sets CITUS_PORTS (coordinator first), CITUS_DIRS, and
# the exported CITUS_PORT_LIST (the same, space-separated, for child scripts); leaves
# PGHOST/PGPORT on the coordinator.
citus_start() {
    local dir=$1 name port
    shift
    CITUS_PORTS=()
    CITUS_DIRS=()
    for name in coord w1 w2; do
        mkdir -p "$dir/$name"
        chmod 755 "$dir/$name"
        port=$(pg_free_port)
        while [[ " ${CITUS_PORTS[*]} " == *" $port "* ]]; do port=$(pg_free_port); done
        # max_worker_processes: Citus runs a maintenance daemon per database, and the
        # event worker of a refused pick needs a free slot (doc/scaling.md)
        pg_start "$dir/$name/data" "$port" listen_addresses=localhost shared_preload_libraries=citus \
            max_prepared_transactions=100 max_connections=200 max_worker_processes=40 \
            log_min_messages=warning "$@" || return 1
        CITUS_PORTS+=("$port")
        CITUS_DIRS+=("$dir/$name/data")
    done
    export PGHOST=localhost PGPORT=${CITUS_PORTS[0]} PGUSER=postgres
    CITUS_PORT_LIST="${CITUS_PORTS[*]}"
    export CITUS_PORT_LIST
}

# citus_db DB: database DB on the coordinator and both workers (CITUS_PORT_LIST), with
# extension citus on each, the coordinator and the workers registered (Citus keeps its
# metadata per database), and CREATE EXTENSION inventory_erp on the coordinator (Citus
# runs it on the workers too).  The tables are not distributed yet.
citus_db() {
    local db=$1 port ports
    read -r -a ports <<<"$CITUS_PORT_LIST"
    for port in "${ports[@]}"; do
        "$PGBIN/dropdb" -h localhost -p "$port" -U postgres --if-exists --force "$db" >/dev/null 2>&1
        "$PGBIN/createdb" -h localhost -p "$port" -U postgres "$db" || return 1
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" \
            -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION citus' || return 1
    done
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "${ports[0]}" -U postgres -d "$db" \
        -c "SELECT citus_set_coordinator_host('localhost', ${ports[0]})" \
        -c "SELECT citus_add_node('localhost', ${ports[1]})" \
        -c "SELECT citus_add_node('localhost', ${ports[2]})" \
        -c "CREATE EXTENSION inventory_erp" >/dev/null || return 1
}

# citus_psql N [psql args...]: psql as postgres on node N (0 coordinator, 1 and 2 workers),
# unaligned, quiet.
citus_psql() {
    local ports
    read -r -a ports <<<"$CITUS_PORT_LIST"
    local port=${ports[$1]}
    shift
    "$PGBIN/psql" -X -q -At -h localhost -p "$port" -U postgres "$@"
}

# citus_stop: stops the three clusters citus_start started.
citus_stop() {
    local d
    for d in "${CITUS_DIRS[@]}"; do pg_stop "$d"; done
}

# check WHAT EXPECTED ACTUAL: prints ok or MISMATCH; counts mismatches in failures.
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
