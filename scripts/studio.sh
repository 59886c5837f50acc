#!/usr/bin/env bash
# Set up (if needed) and start the studio on the embedded default: SQLite, a local broker and
# one local worker, all data under $MIND_HOME. The first start creates an admin account.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MIND_HOME=${MIND_HOME:-$HOME/.mind-studio} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$MIND_HOME"
.venv/bin/mind-studio migrate
if [ ! -f "$MIND_HOME/admin-created" ]; then
  email=${MIND_ADMIN_EMAIL:-admin@localhost}
  password=${MIND_ADMIN_PASSWORD:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')}
  .venv/bin/mind-studio create-user --email "$email" --password "$password" --admin
  touch "$MIND_HOME/admin-created"
  echo "Sign in as $email with password: $password  (shown once)"
fi
exec .venv/bin/mind-studio up --port "${PORT:-8000}"
