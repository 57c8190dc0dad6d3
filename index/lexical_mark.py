"""The mark a lexical index folder keeps of the store state it was last found in step with.

``index.state.state_token`` changes whenever a writer commits to the index folder. After
a sync finds (or brings) the lexical index in step, ``LexicalIndex`` writes that token
into its own folder; a process opening the folder later compares the token with the
state file and, when they are the same, skips reading the whole manifest (seconds at a
million passages). Any write to the lexical index removes the mark first, so a sync
killed halfway leaves no mark and the next one compares everything; a folder removed
and rebuilt loses its mark with it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from index.atomic import write_atomically

MARK_FILE = "rag-in-step.json"
Token = tuple[int, int]


def read_mark(folder: Path | None) -> Token | None:
    """The token recorded in ``folder``; None when there is none or it cannot be read."""
    if folder is None:
        return None
    try:
        data = json.loads((folder / MARK_FILE).read_text("utf-8"))
        return (int(data["state"][0]), int(data["state"][1]))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def write_mark(folder: Path | None, token: Token) -> None:
    """Record ``token`` (a folder that cannot be written keeps no mark: the next open compares)."""
    if folder is None or not folder.is_dir():
        return
    with contextlib.suppress(OSError):
        write_atomically(folder / MARK_FILE, json.dumps({"state": list(token)}).encode())


def clear_mark(folder: Path | None) -> None:
    """Remove the mark before the lexical index changes."""
    if folder is None:
        return
    with contextlib.suppress(OSError):
        (folder / MARK_FILE).unlink(missing_ok=True)
