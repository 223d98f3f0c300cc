#!/usr/bin/env bash
# cut-release: releases the version under development and opens the next one
# (doc/operations.md, "Releases").  Run from a clean work tree of the
# repository, once every change of the version has landed:
#
#   scripts/cut-release.sh 0.3.0          # next: 0.4.0-dev
#   scripts/cut-release.sh 0.3.0 1.0.0    # next: 1.0.0-dev
#
# It makes two commits and a tag:
#   1. "Release VERSION" (tagged vVERSION): the control file's default_version
#      is VERSION; sql/released/inventory_erp--VERSION.sql is the install script
#      the Makefile built from sql/install/, sql/updates/inventory_erp--PREV--VERSION.sql
#      the update script it built from the fragments in sql/updates/PREV--VERSION/
#      (with their \echo header), both appended to sql/released/SHA256SUMS; the
#      fragments are removed (the update script holds them; git history keeps
#      them); META.json and debian/changelog say VERSION.  At this commit the
#      Makefile builds no script: the package is the frozen scripts, which is
#      what a package of VERSION must be.
#   2. "Open NEXT-dev": default_version NEXT-dev, the Makefile's PREVVERSION
#      VERSION, a new fragment directory sql/updates/VERSION--NEXT/ with a header
#      and the fragments every update re-applies (98_*, 99_*: search_path and
#      privileges), debian/changelog NEXT~dev (UNRELEASED), META.json NEXT.
# Nothing is pushed.  Refuses, changing nothing, when the tree is not clean,
# the version is not the one under development, it is already released, or a
# released script no longer matches its checksum.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
EXT=inventory_erp
die() { echo "cut-release: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: scripts/cut-release.sh VERSION [NEXT]"
VERSION=$1
semver='^[0-9]+\.[0-9]+\.[0-9]+$'
[[ $VERSION =~ $semver ]] || die "VERSION must be X.Y.Z, not '$VERSION'"
if [ $# -eq 2 ]; then NEXT=$2; else
    IFS=. read -r major minor _ <<<"$VERSION"
    NEXT=$major.$((minor + 1)).0
fi
[[ $NEXT =~ $semver ]] || die "NEXT must be X.Y.Z, not '$NEXT'"
[ "$(printf '%s\n%s\n' "$VERSION" "$NEXT" | sort -V | head -1)" == "$VERSION" ] && [ "$VERSION" != "$NEXT" ] ||
    die "NEXT ($NEXT) must come after VERSION ($VERSION)"

control_version() { sed -n "s/^default_version *= *'\(.*\)'/\1/p" $EXT.control; }
CURRENT=$(control_version)
PREV=$(sed -n 's/^PREVVERSION *= *\([^ ]*\) *$/\1/p' Makefile)
FRAGMENTS=sql/updates/$PREV--$VERSION

# the checks, before anything changes
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "not a git work tree"
[ -z "$(git status --porcelain --untracked-files=normal)" ] || die "the work tree is not clean (commit or stash first)"
! git rev-parse -q --verify "refs/tags/v$VERSION" >/dev/null || die "tag v$VERSION exists already"
[ "$CURRENT" == "$VERSION" ] || [ "$CURRENT" == "$VERSION-dev" ] ||
    die "the version under development is $CURRENT (inventory_erp.control), not $VERSION"
[ ! -e "sql/released/$EXT--$VERSION.sql" ] || die "$VERSION is released already (sql/released/$EXT--$VERSION.sql)"
[ -n "$PREV" ] || die "no PREVVERSION in the Makefile"
[ -f "sql/released/$EXT--$PREV.sql" ] || die "PREVVERSION $PREV has no released script"
[ -d "$FRAGMENTS" ] && ls "$FRAGMENTS"/*.sql >/dev/null 2>&1 || die "no update fragments in $FRAGMENTS/"
sha256sum --quiet --strict -c sql/released/SHA256SUMS || die "released scripts do not match sql/released/SHA256SUMS"

set_control() { sed -i "s/^default_version *= *'.*'/default_version = '$1'/" $EXT.control; [ "$(control_version)" == "$1" ]; }
# debian/changelog: a new stanza on top
changelog() { # changelog VERSION DISTRIBUTION TEXT
    local tmp
    tmp=$(mktemp)
    {
        printf 'inventory-erp (%s) %s; urgency=medium\n\n  * %s\n\n -- %s  %s\n\n' \
            "$1" "$2" "$3" "$(sed -n 's/^Maintainer: *//p' debian/control.in)" "$(date -R)"
        cat debian/changelog
    } >"$tmp"
    mv "$tmp" debian/changelog
}

echo "cut-release: releasing $VERSION (update from $PREV), then opening $NEXT-dev"
KEEP=$(mktemp -d)
trap 'rm -rf "$KEEP"' EXIT
cp "$FRAGMENTS"/9[89]_*.sql "$KEEP"/ 2>/dev/null || true

# 1. the release
set_control "$VERSION"
make -s "$EXT--$VERSION.sql" "$EXT--$PREV--$VERSION.sql"
mv "$EXT--$VERSION.sql" "sql/released/$EXT--$VERSION.sql"
mv "$EXT--$PREV--$VERSION.sql" "sql/updates/$EXT--$PREV--$VERSION.sql"
sha256sum "sql/released/$EXT--$VERSION.sql" "sql/updates/$EXT--$PREV--$VERSION.sql" >>sql/released/SHA256SUMS
git rm -q -r "$FRAGMENTS"
sed -i -E "s/^( *\"version\": \")[^\"]*\"/\1$VERSION\"/" META.json
changelog "$VERSION" unstable "Release $VERSION (updates from $PREV: sql/updates/$EXT--$PREV--$VERSION.sql)."
# at the release commit the Makefile builds no script of its own
if make -s "$EXT--$VERSION.sql" >/dev/null 2>&1; then
    rm -f "$EXT--$VERSION.sql"
    die "the Makefile still builds $EXT--$VERSION.sql next to the released one (left uncommitted)"
fi
git add -A $EXT.control sql META.json debian/changelog
git commit -q -m "Release $VERSION: sql/released/$EXT--$VERSION.sql and sql/updates/$EXT--$PREV--$VERSION.sql frozen from the sources (scripts/cut-release.sh), checksums appended"
git tag -a "v$VERSION" -m "inventory_erp $VERSION"
echo "cut-release: committed $(git rev-parse --short HEAD) \"Release $VERSION\", tagged v$VERSION"

# 2. the next version under development
set_control "$NEXT-dev"
sed -i "s/^PREVVERSION *= *.*/PREVVERSION = $VERSION/" Makefile
mkdir -p "sql/updates/$VERSION--$NEXT"
cat >"sql/updates/$VERSION--$NEXT/00_header.sql" <<SQL
-- inventory_erp $VERSION -> $NEXT: each following fragment covers one area and
-- repeats, for databases updated from $VERSION, what sql/install/ now creates.
-- (Built into $EXT--$VERSION--$NEXT-dev.sql while $NEXT is under development,
-- frozen as $EXT--$VERSION--$NEXT.sql by scripts/cut-release.sh $NEXT.)
SQL
cp "$KEEP"/*.sql "sql/updates/$VERSION--$NEXT/" 2>/dev/null || true
changelog "$NEXT~dev" UNRELEASED "Development of $NEXT (extension version $NEXT-dev)."
# META.json names the version the tree is heading to (as the control file does,
# less -dev); a PGXN distribution is only ever made from a release tag
sed -i -E "s/^( *\"version\": \")[^\"]*\"/\1$NEXT\"/" META.json
make -s "$EXT--$NEXT-dev.sql" "$EXT--$VERSION--$NEXT-dev.sql"
rm -f "$EXT--$NEXT-dev.sql" "$EXT--$VERSION--$NEXT-dev.sql"
git add -A $EXT.control Makefile sql META.json debian/changelog
git commit -q -m "Open $NEXT-dev: updates from $VERSION accumulate in sql/updates/$VERSION--$NEXT/"
echo "cut-release: committed $(git rev-parse --short HEAD) \"Open $NEXT-dev\""
echo "cut-release: done; check with: make test (released_checksums, upgrade: $PREV -> $VERSION -> $NEXT-dev)"
