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
# pytest exits 5 when it collected no test: that is a failure too (set -e passes it on).
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
