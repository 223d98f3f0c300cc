#!/usr/bin/env bash
# The Citus suite: starts a coordinator and two workers of its own (test/citus/lib.sh:
# throwaway clusters of the private PostgreSQL copy, shared_preload_libraries = citus)
# and runs each test given (test/citus/t_*.sh) against them; each test creates its
# own database (citus_db) and calls erp.distribute() itself.  Prints one line per
# test, "ok NAME" or "FAILED NAME" (then the end of its log), for scripts/test.sh to
# count.  When Citus is not installed prints one line "skip: ..." and exits 0.
#   test/citus/run.sh test/citus/t_layout.sh ...
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"

if ! citus_available; then
    echo "skip: Citus is not installed in PostgreSQL $PGVER (no citus.so and citus.control); install it (doc/scaling.md) to run the Citus suite"
    exit 0
fi
CW=$WORK/citus
mkdir -p "$CW"
chmod 755 "$WORK" "$CW"
trap citus_stop EXIT
if ! citus_start "$CW" fsync=off; then
    for t in "$@"; do echo "FAILED $(basename "$t" .sh)"; done
    echo "   (the Citus cluster did not start)"
    exit 1
fi
export CITUS_LOG_DIR=$CW
for t in "$@"; do
    name=$(basename "$t" .sh)
    if bash "$t" >"$CW/$name.log" 2>&1; then
        echo "ok $name"
    else
        echo "FAILED $name"
        tail -25 "$CW/$name.log" | sed 's/^/      /'
    fi
done
