#!/usr/bin/env bash
# Install what the tests need and run the whole suite (lint + pytest, browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "Chromium or fonts-noto-cjk missing: install them (Debian: apt-get install chromium fonts-noto-cjk)" >&2
  fi
fi
python -m ruff check .
python -m pytest "$@"
