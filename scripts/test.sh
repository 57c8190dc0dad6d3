#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k seed).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${EXTRAS:-dev,ui,llm-test,bench} bash scripts/setup.sh
if [ -f scripts/install-browser.sh ]; then
  bash scripts/install-browser.sh
fi
mkdir -p test-artifacts
# The data folder (RAG_DATA_DIR, default ../shared) holds the public eval sets, the seed article and
# real-world PDFs; without it the tests that measure them are skipped and the run says which.
# pytest's -ra (pyproject addopts) lists every skip with its reason; the last lines count what ran.
# pytest exits 5 when it collected no test: that is a failure too (set -e passes it on).
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
