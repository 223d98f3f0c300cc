#!/usr/bin/env bash
# check-fresh: runs the README's two commands, `make test` and `make demo`, on a
# bare Debian 12 -- a debootstrap chroot of bookworm (minbase) with only make
# and git installed -- from a clone of this repository's HEAD under /root (a
# directory the postgres user cannot enter, as on a real machine).
#
#   scripts/check-fresh.sh            # both commands
#   CHECK=test scripts/check-fresh.sh # only `make test` (or CHECK=demo)
#
# Needs root and debootstrap.  The chroot uses the Debian mirror this machine's
# apt is configured with.  The bare system (minbase + make + git) is built once
# and cached as a tarball (FRESH_CACHE, default /var/cache/inventory_erp); every
# run unpacks it into a new directory, so each run starts bare.  Mounts /proc,
# /sys, /dev, /dev/pts and /dev/shm into the chroot and unmounts them on exit,
# whatever happens.  Not part of `make test` (it takes minutes).  Prints the
# closing lines of each command; exits non-zero if either fails.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE_DIR=${FRESH_CACHE:-/var/cache/inventory_erp}
CHECK=${CHECK:-test demo}
SUITE=bookworm
TAIL=${TAIL:-25}

if [ "$(id -u)" -ne 0 ]; then echo "check-fresh: needs root (debootstrap, chroot, mount)" >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "check-fresh: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }

# The mirror apt uses here: the first deb URI serving the suite itself (not
# -security/-updates), from deb822 .sources files or one-line sources.list.
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            function flush() { if (deb && uri != "" && has) { print uri; found = 1; exit } }
            /^[[:space:]]*$/ { flush(); deb = 0; uri = ""; has = 0; next }
            /^Types:/  { deb = ($0 ~ /(^|[[:space:]])deb([[:space:]]|$)/) }
            /^URIs:/   { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
            END { if (!found) flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == suite) print $i; break } }' "$f"
    done
}
MIRROR=${FRESH_MIRROR:-$(find_mirror | head -1)}
[ -n "$MIRROR" ] || { echo "check-fresh: no Debian mirror for $SUITE found in /etc/apt" >&2; exit 1; }
TARBALL=$CACHE_DIR/fresh-$SUITE-minbase-make-git.tar.gz

ROOT=$(mktemp -d /tmp/inventory_erp-fresh.XXXXXX)
# the chroot's / : every user in it must be able to traverse it (mktemp made it 700)
chmod 755 "$ROOT"
mounted=()

# kill what still runs inside the chroot (a server left by a failed run), by pid
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
        echo "check-fresh: mounts remain under $ROOT; not removing it" >&2
    elif [ -z "${KEEP:-}" ]; then
        rm -rf "$ROOT"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

if [ -f "$TARBALL" ] && [ -z "${REBUILD:-}" ]; then
    echo "check-fresh: unpacking the cached bare $SUITE ($TARBALL)"
    tar -xzf "$TARBALL" -C "$ROOT"
    chmod 755 "$ROOT"
else
    echo "check-fresh: debootstrap --variant=minbase $SUITE from $MIRROR (cached afterwards in $TARBALL)"
    debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || {
        tail -20 "$ROOT.debootstrap.log" >&2
        exit 1
    }
    rm -f "$ROOT.debootstrap.log"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    # no daemon started by a package's postinst may outlive the chroot
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    mount_all
    echo "check-fresh: installing make and git (and nothing else) in the chroot"
    in_chroot "apt-get update -qq && apt-get install -y -qq --no-install-recommends make git >/dev/null && apt-get clean"
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}"; done
    mounted=()
    mkdir -p "$CACHE_DIR"
    tar -czf "$TARBALL.tmp" -C "$ROOT" . && mv "$TARBALL.tmp" "$TARBALL"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
mount_all

HEAD=$(git -C "$REPO_ROOT" rev-parse HEAD)
echo "check-fresh: cloning $HEAD into the chroot's /root/inventory_erp (mode 700 /root)"
git -C "$REPO_ROOT" bundle create "$ROOT/tmp/inventory_erp.bundle" HEAD >/dev/null 2>&1
chmod 700 "$ROOT/root"
in_chroot "git -c advice.detachedHead=false clone -q /tmp/inventory_erp.bundle /root/inventory_erp && git -C /root/inventory_erp log --oneline -1"
echo "check-fresh: installed packages before: $(in_chroot 'dpkg-query -W -f "\${Package}\n" | wc -l')"

status=0
for what in $CHECK; do
    echo
    echo "== make $what (in the bare $SUITE chroot)"
    started=$(date +%s)
    if in_chroot "cd /root/inventory_erp && make $what" >"$ROOT.$what.log" 2>&1; then rc=0; else rc=$?; fi
    tail -n "$TAIL" "$ROOT.$what.log"
    echo "== make $what: exit $rc after $(( $(date +%s) - started )) s (full log: $ROOT.$what.log)"
    [ $rc -eq 0 ] || status=1
done
echo
if [ $status -eq 0 ]; then echo "check-fresh: passed ($CHECK)"; else echo "check-fresh: FAILED"; fi
exit $status
