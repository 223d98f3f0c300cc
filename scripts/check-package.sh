#!/usr/bin/env bash
# check-package: builds the Debian package postgresql-15-inventory-erp from this
# repository's HEAD with pg_buildext (debian/), installs it with `dpkg -i` (and
# apt for the dependencies dpkg names) into a bare Debian 12 -- the debootstrap
# chroot of bookworm (minbase, plus make and git) that scripts/check-fresh.sh
# builds and caches -- starts the cluster the postgresql-15 package creates
# there, and runs `make installcheck` there: the pg_regress scenarios against
# the installed package.  It also checks that META.json is well-formed and says
# the version the control file names.
#
#   scripts/check-package.sh          # KEEP=1 keeps the chroot and the build
#
# Needs root.  On the host it installs what building needs when missing
# (build-essential, debhelper, postgresql-server-dev-all, debootstrap).  Not
# part of `make test` (minutes).  Prints the package, its files, what dpkg and
# apt did and the closing lines of installcheck; exits non-zero on any failure.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE_DIR=${FRESH_CACHE:-/var/cache/inventory_erp}
SUITE=bookworm
PKG=postgresql-15-inventory-erp
TAIL=${TAIL:-15}

if [ "$(id -u)" -ne 0 ]; then echo "check-package: needs root (apt, debootstrap, chroot, mount)" >&2; exit 1; fi

# 1. what building needs, on the host
missing=()
command -v dpkg-buildpackage >/dev/null && command -v gcc >/dev/null || missing+=(build-essential)
command -v dh >/dev/null || missing+=(debhelper)
[ -x /usr/bin/pg_buildext ] && [ -f /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk ] &&
    dpkg -s postgresql-server-dev-all >/dev/null 2>&1 || missing+=(postgresql-server-dev-all)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    echo "check-package: installing ${missing[*]} on the host"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

WORK=$(mktemp -d /tmp/inventory_erp-package.XXXXXX)
ROOT=$WORK/chroot
mkdir -p "$ROOT"
chmod 755 "$WORK" "$ROOT"
mounted=()

# kill what still runs inside the chroot (the cluster), by pid
kill_chroot_procs() {
    local p pid found=1 tries=0
    while [ $found -eq 1 ] && [ $tries -lt 20 ]; do
        found=0
        for p in /proc/[0-9]*; do
            pid=${p#/proc/}
            if [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ]; then
                found=1
                kill "$([ $tries -lt 10 ] && echo -TERM || echo -KILL)" "$pid" 2>/dev/null || true
            fi
        done
        [ $found -eq 1 ] && sleep 0.5
        tries=$((tries + 1))
    done
}
cleanup() {
    local rc=$? i
    kill_chroot_procs
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
    done
    # never remove the tree while anything is still mounted in it (a bind of /dev!)
    if grep -q " $ROOT/" /proc/mounts; then
        echo "check-package: mounts remain under $ROOT; not removing $WORK" >&2
    elif [ -z "${KEEP:-}" ]; then
        rm -rf "$WORK"
    else
        echo "check-package: kept $WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 2. the package, from HEAD
HEAD=$(git -C "$REPO_ROOT" rev-parse HEAD)
EXTVERSION=$(git -C "$REPO_ROOT" show HEAD:inventory_erp.control | sed -n "s/^default_version *= *'\(.*\)'/\1/p")
echo "check-package: building $PKG from $(git -C "$REPO_ROOT" log --oneline -1 HEAD) (extension version $EXTVERSION)"
mkdir -p "$WORK/build"
git -C "$REPO_ROOT" archive --prefix=inventory-erp/ HEAD | tar -x -C "$WORK/build"
if ! (cd "$WORK/build/inventory-erp" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log"
    echo "check-package: FAILED: dpkg-buildpackage (log: $WORK/build.log)"
    KEEP=1
    exit 1
fi
grep -E '^(test |ok |not ok | *All [0-9]+ tests|dpkg-deb: building)' "$WORK/build.log" | sed 's/^/   build: /'
DEB=$(ls "$WORK/build/${PKG}_"*.deb)
echo "check-package: built $(basename "$DEB") ($(du -k "$DEB" | cut -f1) kB), which installs:"
dpkg-deb -c "$DEB" | awk '{print $6}' | grep -E '\.(so|control|sql)$' | sed 's/^/   /'
dpkg-deb -f "$DEB" Depends | sed 's/^/   Depends: /'

# 3. META.json: well-formed, and the version of the control file (without -dev)
python3 - "$REPO_ROOT" "${EXTVERSION%-dev}" <<'PY'
import json, sys
root, version = sys.argv[1], sys.argv[2]
m = json.load(open(root + "/META.json"))
for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    assert k in m, "META.json lacks " + k
assert m["version"] == version, "META.json says %s, the control file %s" % (m["version"], version)
assert m["provides"]["inventory_erp"]["version"] == version, "META.json provides another version"
print("check-package: META.json is well-formed and says %s" % version)
PY

# 4. a bare bookworm, as check-fresh.sh makes it (and shares its cache)
find_mirror() { # find_mirror [SUITE]: the first deb URI serving SUITE (default: the release itself)
    local f suite=${1:-$SUITE}
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            function flush() { if (deb && uri != "" && has) { print uri; found = 1; exit } }
            /^[[:space:]]*$/ { flush(); deb = 0; uri = ""; has = 0; next }
            /^Types:/  { deb = ($0 ~ /(^|[[:space:]])deb([[:space:]]|$)/) }
            /^URIs:/   { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
            END { if (!found) flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == suite) print $i; break } }' "$f"
    done
}
do_mount() { # do_mount TARGET ARGS...: mount and remember it for the cleanup
    local target=$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounted+=("$target")
}
mount_all() {
    do_mount "$ROOT/proc" -t proc proc
    do_mount "$ROOT/sys" -t sysfs sysfs
    do_mount "$ROOT/dev" --bind /dev
    do_mount "$ROOT/dev/pts" --bind /dev/pts
    # PostgreSQL's dynamic shared memory is POSIX shm: a private tmpfs, not the host's
    do_mount "$ROOT/dev/shm" -t tmpfs -o mode=1777,size=512m tmpfs
}
in_chroot() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root TERM=dumb LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -c "$1"
}
TARBALL=$CACHE_DIR/fresh-$SUITE-minbase-make-git.tar.gz
if [ -f "$TARBALL" ] && [ -z "${REBUILD:-}" ]; then
    echo "check-package: unpacking the cached bare $SUITE ($TARBALL)"
    tar -xzf "$TARBALL" -C "$ROOT"
    chmod 755 "$ROOT"
else
    MIRROR=${FRESH_MIRROR:-$(find_mirror | head -1)}
    [ -n "$MIRROR" ] || { echo "check-package: no Debian mirror for $SUITE found in /etc/apt" >&2; exit 1; }
    echo "check-package: debootstrap --variant=minbase $SUITE from $MIRROR (cached afterwards in $TARBALL)"
    debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
        tail -20 "$WORK/debootstrap.log" >&2
        exit 1
    }
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    # no daemon started by a package's postinst may outlive the chroot
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    mount_all
    echo "check-package: installing make and git (and nothing else) in the chroot"
    in_chroot "apt-get update -qq && apt-get install -y -qq --no-install-recommends make git >/dev/null && apt-get clean"
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}"; done
    mounted=()
    mkdir -p "$CACHE_DIR"
    tar -czf "$TARBALL.tmp" -C "$ROOT" . && mv "$TARBALL.tmp" "$TARBALL"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
mount_all
echo "check-package: installed packages before: $(in_chroot 'dpkg-query -W -f "\${Package}\n" | wc -l')"

# A Debian server gets security updates: the chroot's apt gets the security
# suite the host uses (debootstrap sets up the release alone).  It matters here:
# pg_buildext makes the package depend on the server's minor version it was
# built against (/etc/postgresql-common/minor_versions), which may be newer
# than the release's own.
SECURITY=${FRESH_SECURITY_MIRROR:-$(find_mirror "$SUITE-security" | head -1)}
if [ -n "$SECURITY" ]; then
    echo "deb $SECURITY $SUITE-security main" >"$ROOT/etc/apt/sources.list.d/security.list"
    echo "check-package: the chroot's apt also reads $SECURITY $SUITE-security"
fi

# 5. dpkg -i, then apt for what dpkg says is missing
mkdir -p "$ROOT/tmp/pkg"
cp "$DEB" "$ROOT/tmp/pkg/"
echo "== dpkg -i $(basename "$DEB") (in the bare $SUITE chroot)"
if in_chroot "dpkg -i /tmp/pkg/$(basename "$DEB")" >"$WORK/dpkg.log" 2>&1; then
    echo "   dpkg -i: installed with no missing dependency"
else
    grep -E 'depends on|not installed|dependency problems' "$WORK/dpkg.log" | head -8 | sed 's/^/   /'
    echo "== apt-get -f install (the dependencies dpkg named)"
    in_chroot "apt-get update -qq && apt-get -f install -y -qq --no-install-recommends" >"$WORK/apt.log" 2>&1 ||
        { tail -20 "$WORK/apt.log"; echo "check-package: FAILED: apt-get -f install"; exit 1; }
    grep -E '^(Setting up|Creating new PostgreSQL cluster)' "$WORK/apt.log" | sed 's/^/   /' | tail -12
fi
status=$(in_chroot "dpkg-query -W -f '\${Status} \${Version}' $PKG")
echo "   $PKG: $status"
[[ $status == "install ok installed "* ]] || { echo "check-package: FAILED: $PKG is not installed"; exit 1; }
echo "check-package: installed packages after: $(in_chroot 'dpkg-query -W -f "\${Package}\n" | wc -l')"

# 6. the cluster the postgresql-15 package created, started by hand (policy-rc.d
# keeps services from starting in a chroot)
in_chroot "pg_lsclusters -h | grep -q '^15 ' || pg_createcluster 15 main >/dev/null; pg_ctlcluster 15 main start && pg_lsclusters" |
    sed 's/^/   /'
in_chroot "runuser -u postgres -- psql -X -At -c \"SELECT 'available: ' || name || ' ' || default_version FROM pg_available_extensions WHERE name = 'inventory_erp'\"" |
    sed 's/^/   /'

# 7. make installcheck, from a clone of HEAD owned by the cluster's owner
git -C "$REPO_ROOT" bundle create "$ROOT/tmp/inventory_erp.bundle" HEAD >/dev/null 2>&1
in_chroot "runuser -u postgres -- git -c advice.detachedHead=false clone -q /tmp/inventory_erp.bundle /var/lib/postgresql/inventory_erp"
echo "== make installcheck (in the chroot, against the installed package)"
if in_chroot "cd /var/lib/postgresql/inventory_erp && runuser -u postgres -- env PGHOST=/var/run/postgresql PGPORT=5432 make installcheck" \
        >"$WORK/installcheck.log" 2>&1; then rc=0; else rc=$?; fi
tail -n "$TAIL" "$WORK/installcheck.log"
[ $rc -eq 0 ] || {
    in_chroot "cat /var/lib/postgresql/inventory_erp/regression.diffs 2>/dev/null" | head -40
    echo "check-package: FAILED: make installcheck exit $rc"
    exit 1
}
in_chroot "pg_ctlcluster 15 main stop" || true
echo "check-package: passed ($(basename "$DEB"): dpkg -i into a bare $SUITE, make installcheck there)"
