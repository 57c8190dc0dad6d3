"""The `rag` command end to end, through real subprocesses over a real index."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ARTICLE

pytestmark = pytest.mark.slow

RAG = Path(sys.executable).parent / "rag"
NOTES = "# Kitchen Notes\n\nThe sourdough starter is fed with rye flour every morning.\n"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any RAG_* setting of the caller, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(extra)
    return env


def rag(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RAG), *args], capture_output=True, text=True, timeout=300, env=env or clean_env(), input=stdin
    )


@dataclass(frozen=True)
class Built:
    docs: Path
    index: Path
    ingest: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Ingest a folder through the CLI, choosing the index folder with RAG_INDEX_DIR."""
    root = tmp_path_factory.mktemp("cli")
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(ARTICLE, docs / ARTICLE.name)
    (docs / "notes.md").write_text(NOTES, "utf-8")
    index = root / "index"
    out = rag("ingest", str(docs), "--quiet", env=clean_env(RAG_INDEX_DIR=str(index)))
    return Built(docs, index, out)


@pytest.fixture
def scratch(built: Built, tmp_path: Path) -> Path:
    """A copy of the built index, for commands that change it."""
    copy = tmp_path / "index-copy"
    shutil.copytree(built.index, copy)
    return copy


def test_ingest_exits_0_with_a_summary(built: Built) -> None:
    assert built.ingest.returncode == 0, built.ingest.stderr
    assert re.fullmatch(
        r"2 added, 0 updated, 0 unchanged, 0 deleted, 0 failed; \d+ chunks embedded in \d+\.\ds\n",
        built.ingest.stdout,
    ), built.ingest.stdout
    assert (built.index / "chroma.sqlite3").is_file(), "RAG_INDEX_DIR chose the index folder"

    again = rag("ingest", str(built.docs), "--index", str(built.index), "--quiet")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("0 added, 0 updated, 2 unchanged, 0 deleted, 0 failed; 0 chunks embedded")


def test_ask_prints_answer_with_citation_and_sources(built: Built) -> None:
    out = rag("ask", "Who is Ilse Varga?", "--index", str(built.index))
    assert out.returncode == 0, out.stderr
    answer, _, sources = out.stdout.partition("\nSources:\n")
    assert "[1]" in answer
    assert "chief water engineer" in answer
    assert re.search(rf"^\s+\[1\] {re.escape(ARTICLE.name)}\s", sources, re.MULTILINE), out.stdout
    # Every [n] in the answer has its line under Sources.
    for n in set(re.findall(r"\[(\d+)\]", answer)):
        assert f"[{n}] " in sources


def test_ask_json_citations_point_at_the_sentence_in_the_file(built: Built) -> None:
    out = rag("ask", "Who is Ilse Varga?", "--json", "--index", str(built.index))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["question"] == "Who is Ilse Varga?"
    assert data["abstained"] is False
    assert data["citations"], data
    original = (built.docs / ARTICLE.name).read_text("utf-8")
    for citation in data["citations"]:
        assert f"[{citation['n']}]" in data["text"]
        assert citation["chunk"]["source"] == str((built.docs / ARTICLE.name).absolute())
        assert citation["chunk"]["display"] == ARTICLE.name
        start, end = citation["document_span"]
        assert original[start:end] == citation["sentence"]
    assert "chief water engineer" in data["citations"][0]["sentence"]
    assert data["hits"][0]["rank"] == 1 and "total" in data["timings"]

    other = json.loads(rag("ask", "What is the sourdough starter fed with?", "--json", "--index",
                           str(built.index)).stdout)
    first = other["citations"][0]
    assert first["chunk"]["display"] == "notes.md"
    start, end = first["document_span"]
    assert NOTES.strip()[start:end] == first["sentence"] and "rye flour" in first["sentence"]


def test_sources_lists_the_files(built: Built) -> None:
    out = rag("sources", "--index", str(built.index))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["file", "chunks", "pages"]
    assert any(line.startswith(ARTICLE.name) for line in lines)
    assert any(line.startswith("notes.md") for line in lines)
    assert lines[-1] == "2 documents"

    data = json.loads(rag("sources", "--json", "--index", str(built.index)).stdout)
    assert sorted(d["display"] for d in data) == sorted([ARTICLE.name, "notes.md"])
    assert {d["state"] for d in data} == {"complete"}
    assert next(d for d in data if d["display"] == "notes.md")["title"] == "Kitchen Notes"


def test_status_shows_model_and_counts(built: Built) -> None:
    records = json.loads(rag("sources", "--json", "--index", str(built.index)).stdout)
    chunks = sum(r["chunks"] for r in records)
    out = rag("status", "--index", str(built.index))
    assert out.returncode == 0, out.stderr
    assert "sentence-transformers/all-MiniLM-L6-v2 (384-d)" in out.stdout
    assert f"documents:  2  chunks: {chunks}" in out.stdout
    assert str(built.index) in out.stdout
    assert "224 tokens, 64 overlap" in out.stdout

    # The same index chosen through RAG_INDEX_DIR.
    data = json.loads(rag("status", "--json", env=clean_env(RAG_INDEX_DIR=str(built.index))).stdout)
    assert data["location"] == str(built.index)
    assert data["model"] == "sentence-transformers/all-MiniLM-L6-v2" and data["dimension"] == 384
    assert data["documents"] == 2 and data["chunks"] == chunks and data["exists"] is True
    assert data["size_bytes"] > 0


def test_status_of_a_new_index_says_it_is_empty(tmp_path: Path) -> None:
    out = rag("status", "--index", str(tmp_path / "fresh"))
    assert out.returncode == 0, out.stderr
    assert "documents:  0  chunks: 0" in out.stdout and "rag ingest" in out.stdout


def test_delete_then_reset(built: Built, scratch: Path) -> None:
    target = built.docs / "notes.md"
    out = rag("delete", str(target), "--index", str(scratch))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"deleted: {target.absolute()}\n"
    listed = json.loads(rag("sources", "--json", "--index", str(scratch)).stdout)
    assert [d["display"] for d in listed] == [ARTICLE.name]

    # By the name `sources` shows.
    out = rag("delete", ARTICLE.name, "--index", str(scratch))
    assert out.returncode == 0, out.stderr
    assert json.loads(rag("status", "--json", "--index", str(scratch)).stdout)["chunks"] == 0

    out = rag("reset", "--index", str(scratch), stdin="n\n")
    assert out.returncode == 1 and "nothing deleted" in out.stdout
    out = rag("reset", "--yes", "--index", str(scratch))
    assert out.returncode == 0, out.stderr
    assert "is empty" in out.stdout
    status = json.loads(rag("status", "--json", "--index", str(scratch)).stdout)
    assert status["exists"] is False and status["documents"] == 0
    # The original index was not touched.
    assert json.loads(rag("status", "--json", "--index", str(built.index)).stdout)["documents"] == 2


def test_reset_with_yes_empties_a_full_index(scratch: Path) -> None:
    out = rag("reset", "--yes", "--index", str(scratch))
    assert out.returncode == 0, out.stderr
    status = json.loads(rag("status", "--json", "--index", str(scratch)).stdout)
    assert status["documents"] == 0 and status["chunks"] == 0 and status["exists"] is False


# -- errors -------------------------------------------------------------------------------------


def test_bad_chunk_setting_exits_2_naming_both_values(built: Built, tmp_path: Path) -> None:
    out = rag(
        "ingest", str(built.docs), "--index", str(tmp_path / "x"), "--chunk-size", "256", "--chunk-overlap", "300"
    )
    assert out.returncode == 2
    assert "chunk_overlap (300) must be smaller than chunk_size (256)" in out.stderr
    assert "Traceback" not in out.stderr
    out = rag("status", env=clean_env(RAG_INDEX_DIR=str(tmp_path / "x"), RAG_TOP_K="many"))
    assert out.returncode == 2 and "RAG_TOP_K='many'" in out.stderr


def test_missing_path_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    out = rag("ingest", str(missing), "--index", str(tmp_path / "idx"))
    assert out.returncode == 2
    assert str(missing) in out.stderr and "not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_delete_of_something_not_indexed_exits_1_with_a_hint(built: Built, scratch: Path) -> None:
    out = rag("delete", str(built.docs / "never-ingested.txt"), "--index", str(scratch))
    assert out.returncode == 1
    assert "never-ingested.txt" in out.stderr and "rag sources" in out.stderr
    assert "Traceback" not in out.stderr


def test_other_model_exits_2_saying_how_to_rebuild(built: Built) -> None:
    for args in (
        ["ask", "Who is Ilse Varga?"],
        ["ingest", str(built.docs), "--quiet"],
    ):
        out = rag(*args, "--index", str(built.index), "--model", "example-org/some-other-embedder")
        assert out.returncode == 2, out.stderr
        message = out.stderr
        assert "sentence-transformers/all-MiniLM-L6-v2" in message and "example-org/some-other-embedder" in message
        assert "rag reset" in message and str(built.index) in message
        assert "could not be loaded" not in message, "the mismatch must be found before loading the model"
        assert "Traceback" not in message
    # The index is unchanged by the refused commands.
    status = json.loads(rag("status", "--json", "--index", str(built.index)).stdout)
    assert status["documents"] == 2 and status["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_other_chunking_on_ingest_exits_2(built: Built) -> None:
    out = rag("ingest", str(built.docs), "--index", str(built.index), "--chunk-size", "64", "--chunk-overlap", "8",
              "--quiet")
    assert out.returncode == 2
    assert "224/64" in out.stderr and "--chunk-size 224 --chunk-overlap 64" in out.stderr


def test_python_dash_m_entry_point(built: Built) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rag", "sources", "--index", str(built.index)],
        capture_output=True, text=True, timeout=120, env=clean_env(),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "2 documents"
