#!/usr/bin/env bash
# breakops_checksums_tree_check: test/shell/released_checksums.sh on a scratch
# clone of this repository whose released script got one trailing newline.
# The suite fails (it does: its self-test on a copy of the tree trips first,
# with the misleading "the checker passes an untouched copy"), but its own
# check of the tree, "every released script is as listed in SHA256SUMS",
# reports ok: the line
#   out=$(check_tree "$REPO_ROOT"); verdict "... $(wc -l <...) scripts ..." $? "$out"
# expands $? after the $(wc -l ...) in the name, so the verdict always gets 0.
# A check that cannot fail.  Expected: that line says FAIL and names the
# changed file.  Needs the git history (a clone).  Exit 0 = pass.
set -uo pipefail
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SCRATCH=$(mktemp -d /tmp/inventory_erp-breakops-sums.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
git clone -q "$REPO_ROOT" "$SCRATCH/r" || exit 1
first=$(head -1 "$SCRATCH/r/sql/released/SHA256SUMS" | cut -d' ' -f3)
out=$(REPO_ROOT=$SCRATCH/r bash "$SCRATCH/r/test/shell/released_checksums.sh" 2>&1)
check "an untouched clone passes" 0 $?
printf '\n' >>"$SCRATCH/r/$first"
out=$(REPO_ROOT=$SCRATCH/r bash "$SCRATCH/r/test/shell/released_checksums.sh" 2>&1)
rc=$?
sed 's/^/         | /' <<<"$out"
check "the suite fails on $first with a trailing newline" 1 "$rc"
check "its check of the tree itself says FAIL" yes \
    "$(grep -q '^FAIL     every released script is as listed' <<<"$out" && echo yes || echo no)"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
