#!/usr/bin/env bash
# Create .venv and install the project into it. Idempotent: a second run installs nothing new.
#   EXTRAS    pyproject extras to install (default: ui)
#   TORCH     torch requirement installed first (default: torch==2.13.0, a CPU build on this
#             machine's package mirror; elsewhere see the README, "Installing elsewhere")
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
extras=${EXTRAS:-ui}
torch_spec=${TORCH:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing $torch_spec"
  "${pip[@]}" install "$torch_spec"
fi
stamp=.venv/.rag-installed
want="$(sha256sum pyproject.toml | cut -c1-16) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the project with extras [$extras]"
  "${pip[@]}" install -e ".[$extras]"
  echo "$want" > "$stamp"
fi
