"""Bad files among good ones: the run completes, each failure is reported once, the index stays sound."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from index.ingest import consistency_problems
from index.store import ChromaStore
from rag import Assistant
from tests.pdfs import encrypted_pdf, text_pdf, truncated_pdf

RAG = Path(sys.executable).parent / "rag"
LATIN1_TEXT = (
    "Le café de la gare sert une crème brûlée délicieuse à Noël. "
    "Ça coûte cinq euros, et l'hôtel ferme à minuit."
)
KEEPER = "The keeper of the northern lighthouse polishes the great brass lens every evening before dusk."

# file name -> words its failure reason must contain (any one of them, lower case)
BAD = {
    "empty.txt": ("empty",),
    "blank.md": ("white space", "empty"),
    "binary.txt": ("binary",),
    "random.pdf": ("corrupt",),
    "truncated.pdf": ("corrupt",),
    "encrypted.pdf": ("password",),
    "dangling.txt": ("not found", "broken link"),
    "pipe.txt": ("not a regular file",),
    "huge.txt": ("limit",),
}


def make_corpus(root: Path) -> Path:
    """A folder of good files and one of each kind of bad file; returns the folder."""
    folder = root / "mixed"
    folder.mkdir()
    rng = random.Random(42)
    # Good files.
    (folder / "bakery.txt").write_text("The bakery on Mill Street opens at six and sells rye bread.\n", "utf-8")
    (folder / "bikes.md").write_text("# Bicycle Repair\n\nA flat tyre is fixed with a patch kit and a pump.\n", "utf-8")
    text_pdf(folder / "keeper.pdf", [KEEPER])
    (folder / "cafe.txt").write_bytes(LATIN1_TEXT.encode("cp1252"))  # not UTF-8: must be decoded, not failed
    # Bad files.
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("   \n\n\t  \n   ", "utf-8")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(rng.randrange(256) for _ in range(4000)))
    (folder / "random.pdf").write_bytes(bytes(rng.randrange(256) for _ in range(6000)))
    truncated_pdf(folder / "truncated.pdf")
    encrypted_pdf(folder / "encrypted.pdf", "The owl sings to the moon.")
    (folder / "dangling.txt").symlink_to(folder / "no-such-target.txt")
    os.mkfifo(folder / "pipe.txt")
    (folder / "huge.txt").write_text("A sentence that repeats to make the file big. " * 1200, "utf-8")  # ~56 KB
    # Not failures: unsupported types are listed as skipped, hidden files are ignored.
    (folder / "table.csv").write_text("a,b\n1,2\n", "utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / ".hidden.txt").write_text("The secret hidden phrase is marmalade submarine.", "utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.txt").write_text("Hidden folder text about marmalade submarine.", "utf-8")
    return folder


MAX_MB = 0.02  # 20 KB: every good file is smaller, huge.txt is not


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path)


@pytest.mark.slow
def test_bad_files_fail_once_and_good_files_are_indexed(
    corpus: Path, make_assistant: Callable[..., Assistant]
) -> None:
    assistant = make_assistant(max_file_mb=MAX_MB)
    report = assistant.ingest([corpus])

    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert [Path(f.path).name for f in report.failed].count("empty.txt") == 1
    assert len(report.failed) == len(failed), "a file was reported twice"
    assert set(failed) == set(BAD), failed
    for name, words in BAD.items():
        assert any(w in failed[name].lower() for w in words), f"{name}: {failed[name]!r}"
    assert "0.02 MB" in failed["huge.txt"], failed["huge.txt"]
    assert not report.ok

    assert sorted(Path(p).name for p in report.skipped) == ["image.png", "table.csv"]
    assert sorted(Path(p).name for p in report.added) == ["bakery.txt", "bikes.md", "cafe.txt", "keeper.pdf"]
    everything = [*report.added, *report.updated, *report.unchanged, *report.skipped, *(f.path for f in report.failed)]
    assert not [p for p in everything if "/." in p], "hidden files must be ignored"
    assert assistant.check() == []
    assert sorted(r.display for r in assistant.sources()) == ["bakery.txt", "bikes.md", "cafe.txt", "keeper.pdf"]

    # The good files answer questions, the hidden ones never do.
    answer = assistant.ask("When does the bakery on Mill Street open?")
    assert answer.citations and answer.citations[0].chunk.display == "bakery.txt"
    assert "six" in answer.text
    assert assistant.retrieve("who polishes the great brass lens")[0].chunk.display == "keeper.pdf"
    answer = assistant.ask("How is a flat tyre fixed?")
    assert answer.citations and answer.citations[0].chunk.display == "bikes.md"
    for hit in assistant.retrieve("marmalade submarine", top_k=10):
        assert "marmalade" not in hit.chunk.text

    # The cp1252 file was decoded, and its accents are right.
    hits = assistant.retrieve("crème brûlée at the station café", top_k=10)
    cafe = [h.chunk for h in hits if h.chunk.display == "cafe.txt"]
    assert cafe and cafe[0].text == LATIN1_TEXT
    assert report.notes == ("cafe.txt: decoded as cp1252 (not valid UTF-8)",), "the detected encoding is reported"

    # A second run reports the same failures again (they are not remembered as done).
    again = assistant.ingest([corpus])
    assert sorted(Path(f.path).name for f in again.failed) == sorted(BAD)
    assert again.chunks_written == 0 and len(again.unchanged) == 4
    assert assistant.check() == []


@pytest.mark.parametrize(
    "text",
    [
        "Café crème.",
        "Le café est très bon. Ça va?",
        "naïve façade",
        "Zürich Straße, Größe.",
        LATIN1_TEXT,
    ],
)
def test_short_cp1252_text_is_decoded_right(tmp_path: Path, text: str) -> None:
    from index.loaders import load_file

    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode("cp1252"))
    got = load_file(path, 1_000_000)
    assert got.text == text
    assert "cp1252" in got.note or "latin" in got.note.lower() or "1250" in got.note


def test_other_legacy_encodings_still_detected(tmp_path: Path) -> None:
    from index.loaders import load_file

    for text, encoding in [
        ("Привет, как дела? Это тестовый документ на русском языке.", "cp1251"),
        ("Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig.", "cp1250"),
    ]:
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        assert load_file(path, 1_000_000).text == text


def test_binary_without_nul_bytes_is_not_indexed_as_text(tmp_path: Path) -> None:
    from index.errors import IngestError
    from index.loaders import load_file

    rng = random.Random(3)
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4000)))
    with pytest.raises(IngestError) as info:
        load_file(path, 1_000_000)
    assert "utf-8" in info.value.reason.lower() or "binary" in info.value.reason.lower()


@pytest.mark.slow
def test_cli_reports_each_failure_once_and_exits_1(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "cli-index"
    proc = subprocess.run(
        [str(RAG), "ingest", str(corpus), "--index", str(index_dir), "--max-file-mb", str(MAX_MB), "--quiet"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RAG_INDEX_DIR": ""},
    )
    assert proc.returncode == 1, proc.stderr
    failure_lines = [line for line in proc.stderr.splitlines() if line.startswith("failed:")]
    assert len(failure_lines) == len(BAD), proc.stderr
    for name in BAD:
        mentioning = [line for line in failure_lines if f"/{name}:" in line]
        assert len(mentioning) == 1, (name, proc.stderr)
    for name in ("bakery.txt", "bikes.md", "cafe.txt", "keeper.pdf"):
        assert name not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "4 added" in proc.stdout and f"{len(BAD)} failed" in proc.stdout
    assert "skipped (unsupported type)" in proc.stdout and "table.csv" in proc.stdout
    assert "note: cafe.txt: decoded as cp1252" in proc.stdout

    # The index the CLI built is consistent and holds exactly the good files.
    store = ChromaStore.persistent(str(index_dir))
    assert consistency_problems(store) == []
    assert sorted(r.display for r in store.documents().values()) == [
        "bakery.txt", "bikes.md", "cafe.txt", "keeper.pdf",
    ]
