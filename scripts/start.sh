#!/usr/bin/env bash
# Set up, then open the chat web UI on http://127.0.0.1:7860 over ./rag-index.
# An empty index is first filled with the sample corpus: this project's README and docs/.
# Extra arguments go to `rag ui` (e.g. --port 8080, --auth user:password).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAG_INDEX_DIR=${RAG_INDEX_DIR:-$PWD/rag-index}
exec .venv/bin/rag ui "$@"
