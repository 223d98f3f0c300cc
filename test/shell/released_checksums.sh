#!/usr/bin/env bash
# released_checksums: a released script never changes (doc/operations.md, "The
# rules for scripts").  sql/released/SHA256SUMS lists, in `sha256sum` format with
# paths from the repository root, every install script of a released version
# (sql/released/inventory_erp--V.sql) and every update script between released
# versions (sql/updates/inventory_erp--A--B.sql).  The test fails when
#   - a listed file changed (its checksum differs) or is missing;
#   - a released or update script is there that the list does not name (added
#     without a cut, or a built script copied in by hand);
#   - sql/updates/A--B/ holds fragments while B is released (after a cut, work
#     merged late into the old directory would be built into nothing);
#   - the list itself lost or changed a line in git history: every committed
#     version of SHA256SUMS must be a prefix of the current one (lines are only
#     ever appended, by scripts/cut-release.sh), so "fixing" a released file
#     together with its checksum fails too.
# Before checking the tree it checks the checker: on a scratch copy it changes
# one byte of a released script, adds a script, removes a line from the list,
# removes a script and adds a fragment to a released update; each must be
# caught.  Needs the git history (as upgrade.sh).
# Exit 0 = pass.
set -uo pipefail
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
LIST=sql/released/SHA256SUMS
failures=0

# check_tree ROOT: prints one line per problem of ROOT's released scripts
# against ROOT's list; returns 1 when there is one
check_tree() {
    local root=$1 line sum path bad=0 f
    declare -A listed=()
    [ -f "$root/$LIST" ] || { echo "no $LIST"; return 1; }
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ ! $line =~ ^([0-9a-f]{64})\ \ (sql/(released|updates)/inventory_erp--[^/]+\.sql)$ ]]; then
            echo "$LIST: not a line of sha256sum's format for a released script: '$line'"
            bad=1
            continue
        fi
        sum=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]}
        if [ -n "${listed[$path]:-}" ]; then echo "$LIST: $path is listed twice"; bad=1; continue; fi
        listed[$path]=1
        if [ ! -f "$root/$path" ]; then
            echo "$path is listed but missing"
            bad=1
        elif [ "$(sha256sum <"$root/$path" | cut -d' ' -f1)" != "$sum" ]; then
            echo "$path changed after its release (sha256 $(sha256sum <"$root/$path" | cut -c1-16)..., listed ${sum:0:16}...)"
            bad=1
        fi
    done <"$root/$LIST"
    for f in "$root"/sql/released/* "$root"/sql/updates/inventory_erp--*; do
        [ -e "$f" ] || continue
        path=${f#"$root"/}
        [ "$path" == "$LIST" ] && continue
        [ -n "${listed[$path]:-}" ] || { echo "$path is not in $LIST (a released script is added only by scripts/cut-release.sh)"; bad=1; }
    done
    # fragments of an update that is released already would never be built again:
    # a change there reaches nobody (it belongs in the next version's directory)
    for f in "$root"/sql/updates/*--*/; do
        [ -d "$f" ] || continue
        f=${f%/}
        [ ! -e "$root/sql/released/inventory_erp--${f##*--}.sql" ] ||
            { echo "${f#"$root"/}/ holds fragments of an update to the released ${f##*--} (they are built into no script)"; bad=1; }
    done
    [ ${#listed[@]} -gt 0 ] || { echo "$LIST lists nothing"; bad=1; }
    return $bad
}

verdict() { # verdict NAME RC OUTPUT: a check that must pass
    if [ "$2" -eq 0 ]; then printf 'ok       %s\n' "$1"
    else printf 'FAIL     %s\n' "$1"; sed 's/^/         /' <<<"$3"; failures=$((failures + 1)); fi
}
caught() { # caught NAME RC OUTPUT PATTERN: a mutation that must be refused, for the right reason
    if [ "$2" -ne 0 ] && grep -q -- "$4" <<<"$3"; then printf 'ok       %s (%s)\n' "$1" "$(head -1 <<<"$3")"
    else printf 'FAIL     %s: not caught\n' "$1"; sed 's/^/         /' <<<"$3"; failures=$((failures + 1)); fi
}

# 1. the checker catches each kind of change, on scratch copies
SCRATCH=$(mktemp -d /tmp/inventory_erp-released.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
copy() { rm -rf "$SCRATCH/t"; mkdir -p "$SCRATCH/t/sql"; cp -a "$REPO_ROOT/sql/released" "$REPO_ROOT/sql/updates" "$SCRATCH/t/sql/"; }
copy
out=$(check_tree "$SCRATCH/t"); verdict "the checker passes an untouched copy" $? "$out"
copy
first=$(head -1 "$SCRATCH/t/$LIST" | cut -d' ' -f3)
printf '\n' >>"$SCRATCH/t/$first"
out=$(check_tree "$SCRATCH/t"); caught "a released script with one byte more is caught" $? "$out" "changed after its release"
copy
cp "$SCRATCH/t/$first" "$SCRATCH/t/sql/released/inventory_erp--9.9.9.sql"
out=$(check_tree "$SCRATCH/t"); caught "a released script the list does not name is caught" $? "$out" "is not in $LIST"
copy
sed -i '$d' "$SCRATCH/t/$LIST"
out=$(check_tree "$SCRATCH/t"); caught "a script whose line left the list is caught" $? "$out" "is not in $LIST"
copy
rm "$SCRATCH/t/$first"
out=$(check_tree "$SCRATCH/t"); caught "a listed script that is gone is caught" $? "$out" "listed but missing"

copy
mkdir -p "$SCRATCH/t/sql/updates/0.1.0--0.2.0"
echo "SELECT 1;" >"$SCRATCH/t/sql/updates/0.1.0--0.2.0/10_late.sql"
out=$(check_tree "$SCRATCH/t"); caught "a fragment for an update already released is caught" $? "$out" "holds fragments of an update to the released"

# 2. this tree
# (the status is kept before the name is built: $(wc -l) in the name would reset $?)
out=$(check_tree "$REPO_ROOT"); rc=$?
verdict "every released script is as listed in $LIST ($(wc -l <"$REPO_ROOT/$LIST") scripts), and no other" "$rc" "$out"

# 3. the list only ever grew: every committed version is a prefix of the current one
if [ "$(git -C "$REPO_ROOT" rev-parse --show-toplevel 2>/dev/null)" != "$(cd "$REPO_ROOT" && pwd -P)" ] ||
   [ "$(git -C "$REPO_ROOT" rev-parse --is-shallow-repository 2>/dev/null)" != "false" ]; then
    verdict "the git history of $LIST is here" 1 "this test needs the repository's full git history (not a tarball or a shallow clone)"
else
    bad=""
    n=0
    for c in $(git -C "$REPO_ROOT" log --format=%H -- "$LIST"); do
        n=$((n + 1))
        old=$(git -C "$REPO_ROOT" show "$c:$LIST" 2>/dev/null) || continue   # the commit that removed it
        cur=$(head -n "$(printf '%s\n' "$old" | wc -l)" "$REPO_ROOT/$LIST")
        [ "$old" == "$cur" ] || bad="$bad ${c:0:10}"
    done
    verdict "each of the $n committed versions of $LIST is a prefix of this one (lines are only appended)" \
        "$([ -z "$bad" ] && echo 0 || echo 1)" "lines changed or removed since commit(s):$bad"
fi
echo "== $failures failure(s)"
[ "$failures" -eq 0 ]
