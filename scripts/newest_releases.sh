#!/usr/bin/env bash
# The newest-releases check: a throwaway venv built from the ranges in pyproject.toml (not the locks) with the
# newest release of every package, then the suite. It prints which packages moved past the lock and what failed,
# so a release that breaks attnviz is found here before a user installs it. Move the locks with
#   bash scripts/lock.sh --upgrade
# once this passes.   Usage: bash scripts/newest_releases.sh [pytest arguments]
set -uo pipefail
cd "$(dirname "$0")/.."
VENV="$(mktemp -d)/newest"
chmod 755 "$(dirname "$VENV")"  # the proxy tests' nginx reads Streamlit's front end from inside the venv
python3 -m venv "$VENV"
. "$VENV/bin/activate"
pip install -q --upgrade --upgrade-strategy eager -e ".[dev,census]" || { echo "error: the ranges do not install"; exit 2; }
pip freeze --exclude-editable | sed 's/ @ .*//' | sort > "$VENV/installed.txt"
echo "== packages whose newest release differs from requirements-dev.txt =="
python3 - "$VENV/installed.txt" requirements-dev.txt <<'PY'
import re, sys
def pins(path):
    found = {}
    for line in open(path, encoding="utf-8"):
        match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==([^\s;#]+)", line)
        if match:
            found[re.sub(r"\[.*\]", "", match[1]).lower().replace("_", "-")] = match[2]
    return found
newest, locked = pins(sys.argv[1]), pins(sys.argv[2])
moved = [f"  {name}: {locked.get(name, '(not locked)')} -> {version}"
         for name, version in sorted(newest.items()) if locked.get(name) != version]
gone = [f"  {name}: {version} -> (no longer needed)" for name, version in sorted(locked.items()) if name not in newest]
print("\n".join(moved + gone) or "  none: the locks hold the newest releases")
PY
echo "== the suite on the newest releases =="
CI="${CI:-}" python -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$VENV/pytest.log" | tail -n 40
status=${PIPESTATUS[0]}
echo "== failed on the newest releases =="
grep -E "^(FAILED|ERROR) " "$VENV/pytest.log" || echo "  nothing"
exit "$status"
