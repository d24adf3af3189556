#!/usr/bin/env bash
# Install what the tests need and run the whole suite (lint + pytest, browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements-dev.txt
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
# real QGIS (Debian's 3.22, for the system python3) loads the exported .qgz in tests/test_qgis_export.py
lean=()  # large packages: installed without their recommended extras
/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || lean+=(python3-qgis qgis-providers)
# LibreOffice headless converts the Word report to PDF (tests/test_export_desk.py, tests/test_report.py)
command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || lean+=(libreoffice-writer-nogui)
if [ ${#lean[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
  else
    echo "missing: ${lean[*]} — install them (Debian: apt-get install --no-install-recommends ${lean[*]})" >&2
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} — install them (Debian: apt-get install ${need[*]})" >&2
  fi
fi
python -m ruff check .
# the architecture: one way down, no file circles (pyproject.toml [tool.importlinter])
lint-imports
# two or more workers (one per core, at most 4); a test file stays on one worker (its
# module fixtures, its app server)
python -m pytest -n auto --maxprocesses=4 --dist loadfile "$@"
