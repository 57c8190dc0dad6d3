"""Hostile file names: bytes that are not UTF-8, newlines and terminal escapes in names.

The real `rag` command ingests a real folder holding them: nothing crashes, every
file is indexed, and every name is printed escaped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.models import chunk_id
from index.names import document_id, document_path, printable, storable

RAG = Path(sys.executable).parent / "rag"

BAD_BYTES = b"bad\xffutf8.md"
NEWLINE = "two\nlines.txt"
ESCAPE = "\x1b[31mred.txt"
FILES: dict[bytes, str] = {
    BAD_BYTES: "# Walrus notes\n\nThe walrus keeps its ledger in a file with a broken name.\n",
    os.fsencode(NEWLINE): "The heron counts the boats in the harbour every evening.\n",
    os.fsencode(ESCAPE): "The lantern maker sells copper lanterns at the market.\n",
    b"plain.txt": "The orchard grows twelve kinds of apples.\n",
}


def make_folder(root: Path) -> Path:
    folder = root / "names"
    folder.mkdir()
    for name, text in FILES.items():
        with open(os.path.join(os.fsencode(folder), name), "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(os.path.join(os.fsencode(folder), b"table\xfe.csv"), "w") as fh:  # unsupported: listed
        fh.write("a,b\n")
    return folder


def rag(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run(
        [str(RAG), *args, "--index", str(index)], capture_output=True, text=True, timeout=600, env=env,
        encoding="utf-8", errors="strict",  # the output must be valid UTF-8, whatever the names
    )


def assert_no_raw_controls(text: str) -> None:
    assert "\x1b" not in text and "\udcff" not in text
    for line in text.splitlines():
        assert "lines.txt" not in line or "two\\nlines.txt" in line, line


def test_names_round_trip_and_escape() -> None:
    raw = Path(os.fsdecode(b"/docs/" + BAD_BYTES))
    doc = document_id(raw)
    assert doc == "file:///docs/bad%FFutf8.md" and doc.encode("utf-8")
    assert document_path(doc) == raw
    assert document_id(Path("/docs/50%.md")) == "/docs/50%.md"  # valid names keep their id
    assert document_path("/docs/50%.md") == Path("/docs/50%.md")
    odd = Path(os.fsdecode(b"/d/%41\xfe"))  # a literal "%41" stays itself
    assert document_path(document_id(odd)) == odd
    assert storable(os.fsdecode(BAD_BYTES)) == "bad\\xffutf8.md"
    assert printable(NEWLINE) == "two\\nlines.txt"
    assert printable(ESCAPE) == "\\x1b[31mred.txt"
    assert printable("right\u202eto-left\u2028.md") == "right\\u202eto-left\\u2028.md"
    assert printable("Café ünïcode.md") == "Café ünïcode.md"
    # chunk ids hash the path's bytes; every valid name keeps the id it always had
    assert chunk_id(os.fsdecode(b"/d/" + BAD_BYTES), "h", 0)
    assert chunk_id("/d/é.md", "h", 1) == chunk_id("/d/é.md", "h", 1)


@pytest.mark.slow
def test_cli_ingests_a_folder_of_hostile_names_and_prints_them_escaped(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    index = tmp_path / "index"
    out = rag("ingest", str(folder), "--quiet", index=index)
    # Before: UnicodeEncodeError in chunk_id, and nothing of the folder was ingested.
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert "4 added" in out.stdout and "0 failed" in out.stdout
    assert "table\\xfe.csv" in out.stdout  # the skipped file, named with its byte escaped
    assert_no_raw_controls(out.stdout + out.stderr)

    listed = rag("sources", index=index)
    assert listed.returncode == 0, listed.stderr
    assert "4 documents" in listed.stdout
    for shown in ("bad\\xffutf8.md", "two\\nlines.txt", "\\x1b[31mred.txt", "plain.txt"):
        assert shown in listed.stdout
    assert_no_raw_controls(listed.stdout)
    rows = json.loads(rag("sources", "--json", index=index).stdout)
    assert {r["display"] for r in rows} == {"bad\\xffutf8.md", NEWLINE, ESCAPE, "plain.txt"}

    for question, shown in (
        ("Where does the walrus keep its ledger?", "bad\\xffutf8.md"),
        ("Who counts the boats in the harbour?", "two\\nlines.txt"),
        ("Who sells copper lanterns?", "\\x1b[31mred.txt"),
    ):
        asked = rag("ask", question, index=index)
        assert asked.returncode == 0, asked.stderr
        assert shown in asked.stdout, asked.stdout
        assert_no_raw_controls(asked.stdout)

    # The ids lead back to the files: --sync notices the bad name is gone, delete finds the newline name.
    os.unlink(os.path.join(os.fsencode(folder), BAD_BYTES))
    synced = rag("ingest", str(folder), "--sync", "--quiet", index=index)
    assert synced.returncode == 0 and "1 deleted" in synced.stdout, synced.stdout + synced.stderr
    deleted = rag("delete", str(folder / NEWLINE), index=index)
    assert deleted.returncode == 0, deleted.stderr
    assert "two\\nlines.txt" in deleted.stdout
    assert_no_raw_controls(deleted.stdout)
    assert "2 documents" in rag("sources", index=index).stdout
