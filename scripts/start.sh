#!/usr/bin/env bash
# Set up, index the project's own documentation, and answer a question about it.
# The index lives in ./rag-index (override with RAG_INDEX_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAG_INDEX_DIR=${RAG_INDEX_DIR:-$PWD/rag-index}
.venv/bin/rag ingest README.md docs
.venv/bin/rag ask "${1:-How do I delete a document?}"
