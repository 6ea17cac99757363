#!/usr/bin/env bash
# Compile the lock files from the ranges in pyproject.toml: requirements.txt (the app) and requirements-dev.txt
# (the app, the census extra and the tools the tests need). Both pin every package, transitive ones included.
#   bash scripts/lock.sh            keep the pinned versions that still satisfy the ranges
#   bash scripts/lock.sh --upgrade  move every pin to the newest release the ranges allow
# torch is the CPU build: the machines keep its wheel in a local folder (TORCH_WHEELS), and the lock pins the
# +cpu version, so an install can never fall back to the multi-GB CUDA wheel and its nvidia-* packages.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_WHEELS="${TORCH_WHEELS:-/opt/wheels}"
# the interpreter the venv is made with (CI: the same machine): a bare "3.11" would mean 3.11.0 and hold back
# releases that need a later patch version (pymdown-extensions 13 needs 3.11.5)
PYTHON_VERSION="${PYTHON_VERSION:-$(python3 -c "import platform; print(platform.python_version())")}"
compile() {
  uv pip compile pyproject.toml --quiet --python-version "$PYTHON_VERSION" --find-links "$TORCH_WHEELS" \
    --no-emit-find-links --annotation-style line --custom-compile-command "bash scripts/lock.sh" "$@"
}
compile -o requirements.txt "${@}"
compile --extra census --extra dev -o requirements-dev.txt "${@}"
if grep -qiE '^nvidia-|^torch==[0-9.]+$' requirements.txt requirements-dev.txt; then
  echo "error: the lock picked the CUDA build of torch; put the CPU wheel in TORCH_WHEELS=$TORCH_WHEELS" >&2
  exit 1
fi
echo "locked: $(grep -c '==' requirements.txt) packages in requirements.txt, $(grep -c '==' requirements-dev.txt) in requirements-dev.txt"
