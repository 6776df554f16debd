#!/usr/bin/env bash
# Installs (first time) and starts ragcode on its embedded default: local model, local
# store, one data directory ($RAGCODE_DATA_DIR or ~/.local/share/ragcode), no API key.
#   scripts/start.sh [PATH_TO_INDEX]     (default: this repository's own source)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --model "${RAGCODE_MODEL_PACKAGE:-large}"
TARGET="${1:-src}"
printf '\n==> indexing %s (functions are searchable at once; Korean summaries follow)\n' "$TARGET"
ragcode index "$TARGET"
ragcode status
printf '\nready. try:\n  ragcode search "질문을 한국어로"\n'
