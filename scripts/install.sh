#!/usr/bin/env bash
# Installs ragcode and its embedded runtime on a fresh machine (idempotent).
#   scripts/install.sh [--dev] [--model small|large|both]
# The first run compiles llama.cpp from source (6-10 minutes on 2 cores) and downloads the
# model packages (0.5 GB small, 1.1 GB large); later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=large
EXTRAS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dev) EXTRAS="dev"; shift ;;
    --model) MODEL="$2"; shift 2 ;;
    *) echo "usage: scripts/install.sh [--dev] [--model small|large|both]" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
step() { printf '\n==> %s\n' "$*"; }

if ! command -v gcc >/dev/null || ! command -v g++ >/dev/null; then
  step "installing a C/C++ compiler (apt)"
  apt-get update -qq && apt-get install -y -qq build-essential cmake >/dev/null
fi

if [[ "$EXTRAS" == "dev" ]] && ! command -v chromium >/dev/null; then
  # Browser tests (tests/e2e/test_web_*.py) drive Debian's Chromium through Playwright;
  # fonts-nanum renders Korean. Never `playwright install` (it downloads a browser build).
  step "installing chromium and Korean fonts for the browser tests (apt)"
  apt-get update -qq && apt-get install -y -qq chromium fonts-nanum >/dev/null
fi

LLAMA_VERSION=0.3.36
if ! "$PY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
  step "compiling llama-cpp-python $LLAMA_VERSION (first time only: 6-10 minutes on 2 cores)"
  # GGML_NATIVE=OFF: a native build emits AMX instructions some VMs refuse (SIGILL on the
  # first token); --no-cache-dir so that a wheel built elsewhere is never reused.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" \
    "$PY" -m pip install --no-cache-dir --progress-bar on "llama-cpp-python[server]==$LLAMA_VERSION"
fi

case "$MODEL" in
  small) MODEL_EXTRAS="model-small" ;;
  large) MODEL_EXTRAS="model-large" ;;
  both) MODEL_EXTRAS="model-small,model-large" ;;
  *) echo "unknown model: $MODEL" >&2; exit 2 ;;
esac
ALL_EXTRAS="$MODEL_EXTRAS${EXTRAS:+,$EXTRAS}"
step "installing ragcode with [$ALL_EXTRAS] (model packages are large the first time)"
"$PY" -m pip install --progress-bar on -e ".[$ALL_EXTRAS]"
step "ragcode installed: $(command -v ragcode)"
