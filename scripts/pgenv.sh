# shellcheck shell=bash
# Sourced by the test, demo and bench runners: a private copy of PostgreSQL 15 with
# this build of inventory_erp installed into it, and throwaway clusters run from it.
#
# The private copy is PostgreSQL's own binaries hard-linked (or copied) under a
# work directory; PostgreSQL finds its share and lib directories relative to the
# binary, so `make install DESTDIR=...` lands the extension there without touching
# the system installation, and no system service is ever started.

PGVER=${PGVER:-15}
SYS_PGBIN=/usr/lib/postgresql/$PGVER/bin
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# as_pg CMD...: run CMD as the unprivileged owner of the clusters.  As root, CMD
# runs from / : the caller's directory may be one the postgres user cannot
# enter (a checkout under /root), and initdb, pg_ctl and the clients then fail
# with "could not change directory to ...: Permission denied".  So every path
# given to CMD must be absolute.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# pg_workdir NAME: a fresh directory under /tmp that the cluster owner can use.
pg_workdir() {
    local dir
    dir=$(mktemp -d "/tmp/inventory_erp-$1.XXXXXX")
    chmod 755 "$dir"
    echo "$dir"
}

# pg_private_install WORKDIR: PostgreSQL plus this build of the extension under WORKDIR/inst.
# Sets PGBIN.
pg_private_install() {
    local work=$1 inst=$1/inst old_umask
    # the postgres user must be able to read and run what lands here, whatever
    # root's umask is
    old_umask=$(umask)
    umask 022
    mkdir -p "$inst/usr/lib/postgresql" "$inst/usr/share/postgresql"
    cp -al "/usr/lib/postgresql/$PGVER" "$inst/usr/lib/postgresql/" 2>/dev/null ||
        cp -a "/usr/lib/postgresql/$PGVER" "$inst/usr/lib/postgresql/"
    cp -al "/usr/share/postgresql/$PGVER" "$inst/usr/share/postgresql/" 2>/dev/null ||
        cp -a "/usr/share/postgresql/$PGVER" "$inst/usr/share/postgresql/"
    # never write through a hard link into the system's copy of a previous install
    rm -f "$inst/usr/lib/postgresql/$PGVER/lib/inventory_erp.so" \
          "$inst/usr/share/postgresql/$PGVER/extension/inventory_erp"*
    # PG_CFLAGS (set by `make test`: the assertion build) must reach this make,
    # or it would rebuild the module with other flags
    make -s -C "$REPO_ROOT" install DESTDIR="$inst" ${PG_CFLAGS:+PG_CFLAGS="$PG_CFLAGS"} \
            >"$work/install.log" 2>&1 || {
        umask "$old_umask"
        cat "$work/install.log" >&2
        return 1
    }
    umask "$old_umask"
    PGBIN=$inst/usr/lib/postgresql/$PGVER/bin
    export PGBIN
}

# pg_start DATADIR PORT [postgres -c options...]: initdb and start a cluster on a
# Unix socket in DATADIR's parent. Sets PGHOST, PGPORT, PGUSER for the callers' clients.
pg_start() {
    local data=$1 port=$2
    shift 2
    local sock
    sock=$(dirname "$data")
    mkdir -p "$data"
    chown postgres: "$data" "$sock" 2>/dev/null || true
    as_pg "$PGBIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$sock/initdb-$port.log" 2>&1 || {
        cat "$sock/initdb-$port.log" >&2
        return 1
    }
    local opts="-p $port -k $sock -c listen_addresses=''"
    local o
    for o in "$@"; do opts="$opts -c $o"; done
    as_pg "$PGBIN/pg_ctl" -D "$data" -o "$opts" -l "$data/server.log" -w -t 60 start >/dev/null || {
        cat "$data/server.log" >&2
        return 1
    }
    export PGHOST=$sock PGPORT=$port PGUSER=postgres
}

# pg_stop DATADIR: stop the cluster if it runs.
pg_stop() {
    [ -f "$1/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1
    return 0
}

# pg_free_port: a TCP port number nobody listens on here (the socket name is per port).
pg_free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo 25432
}
