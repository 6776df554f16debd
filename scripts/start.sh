#!/usr/bin/env bash
# Installs (first time) and starts ragcode on its embedded default: local model, local
# store, local history, one data directory ($RAGCODE_DATA_DIR or ~/.local/share/ragcode),
# no server to install and no API key. Serves the web app on http://127.0.0.1:8000/.
#   scripts/start.sh [PATH_TO_INDEX]
# With PATH, that code is indexed in the background while the web app already answers
# (functions are searchable at once; Korean summaries are added as they are written).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --model "${RAGCODE_MODEL_PACKAGE:-large}"
DATA_DIR="${RAGCODE_DATA_DIR:-$HOME/.local/share/ragcode}"
mkdir -p "$DATA_DIR"
if [[ $# -gt 0 ]]; then
  printf '\n==> indexing %s in the background (log: %s/index.log)\n' "$1" "$DATA_DIR"
  ragcode index "$1" --data-dir "$DATA_DIR" >"$DATA_DIR/index.log" 2>&1 &
fi
printf '\n==> ragcode: http://%s:%s/  (Ctrl+C to stop)\n' "${RAGCODE_HOST:-127.0.0.1}" "${RAGCODE_PORT:-8000}"
exec ragcode serve --data-dir "$DATA_DIR" --host "${RAGCODE_HOST:-127.0.0.1}" --port "${RAGCODE_PORT:-8000}"
