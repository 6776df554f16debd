#!/usr/bin/env bash
# Installs what the tests need (compiler, llama.cpp, the 0.5B model, dev tools) and runs
# lint, type checks and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev --model small
printf '\n==> ruff\n' && ruff check src tests bench eval && ruff format --check src tests bench eval
printf '\n==> mypy\n' && mypy && mypy --exclude '^eval/work/' bench eval tests
printf '\n==> pytest\n'
RAGCODE_LLM__MODEL=qwen2.5-coder-0.5b python3 -m pytest "$@"
