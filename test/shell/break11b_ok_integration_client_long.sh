#!/usr/bin/env bash
# break11b_ok_integration_client_long: test/shell/integration_client.sh (the example
# connector, every role at once, its invariants) run three times longer: 2 x 450 new
# orders instead of 2 x 150, with the per-process limit raised from 90 s to 270 s,
# in a database of its own.  The script is run unchanged apart from those three
# settings, so its checks are the invariants checked.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
export REPO_ROOT
export ORDERS=${ORDERS:-450}
sed -e 's/^LIMIT=90$/LIMIT=270/' -e 's/^DB=ierp_integration_client$/DB=ierp_b11b_client_long/' \
    "$REPO_ROOT/test/shell/integration_client.sh" >"${TMPDIR:-/tmp}/b11b_client_long.$$.sh" || exit 1
grep -q '^LIMIT=270$' "${TMPDIR:-/tmp}/b11b_client_long.$$.sh" &&
    grep -q '^DB=ierp_b11b_client_long$' "${TMPDIR:-/tmp}/b11b_client_long.$$.sh" ||
    { echo "integration_client.sh changed: LIMIT or DB not found"; rm -f "${TMPDIR:-/tmp}/b11b_client_long.$$.sh"; exit 1; }
bash "${TMPDIR:-/tmp}/b11b_client_long.$$.sh"
rc=$?
rm -f "${TMPDIR:-/tmp}/b11b_client_long.$$.sh"
exit $rc
