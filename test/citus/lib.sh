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

# citus_start DIR DB [postgres -c options...]: starts the coordinator (DIR/coord) and two
# workers (DIR/w1, DIR/w2), creates database DB with extension citus on each, and
# registers the coordinator and the workers.  Sets CITUS_PORTS (coordinator first)
# and leaves PGHOST/PGPORT on the coordinator.
citus_start() {
    local dir=$1 db=$2 name port
    shift 2
    CITUS_PORTS=()
    CITUS_DIRS=()
    for name in coord w1 w2; do
        mkdir -p "$dir/$name"
        chmod 755 "$dir/$name"
        port=$(pg_free_port)
        while [[ " ${CITUS_PORTS[*]} " == *" $port "* ]]; do port=$(pg_free_port); done
        pg_start "$dir/$name/data" "$port" listen_addresses=localhost shared_preload_libraries=citus \
            max_prepared_transactions=100 max_connections=200 log_min_messages=warning "$@" || return 1
        CITUS_PORTS+=("$port")
        CITUS_DIRS+=("$dir/$name/data")
        "$PGBIN/createdb" -h localhost -p "$port" -U postgres "$db" || return 1
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" \
            -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION citus' || return 1
    done
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "${CITUS_PORTS[0]}" -U postgres -d "$db" \
        -c "SELECT citus_set_coordinator_host('localhost', ${CITUS_PORTS[0]})" \
        -c "SELECT citus_add_node('localhost', ${CITUS_PORTS[1]})" \
        -c "SELECT citus_add_node('localhost', ${CITUS_PORTS[2]})" >/dev/null || return 1
    export PGHOST=localhost PGPORT=${CITUS_PORTS[0]} PGUSER=postgres
    export CITUS_PORTS CITUS_DIRS
}

# citus_stop: stops the three clusters citus_start started.
citus_stop() {
    local d
    for d in "${CITUS_DIRS[@]}"; do pg_stop "$d"; done
}
