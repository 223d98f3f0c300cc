#!/usr/bin/env bash
# reference_coverage: every public function and view of sql/install/*.sql has an entry
# with an example in doc/reference.md (scripts/check-reference.py); a new function
# without one fails the suite.
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python3 "$REPO_ROOT/scripts/check-reference.py"
