"""Hostile and big inputs: every loader and the chunker finish in time linear in their input.

Each check runs in a subprocess with a generous ``timeout=``: a quadratic regression
then fails (in minutes) instead of hanging the suite. No elapsed time is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.chunking import sentence_windows
from index.loaders import load_file
from index.sentences import split_sentences

REPO = Path(__file__).resolve().parents[1]


def run_bounded(code: str, timeout: float) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter (it prints one JSON line); fail if it takes over ``timeout`` s."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish in {timeout} s: quadratic again?")
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def long_table_html(path: Path, rows: int) -> None:
    body = "".join(f"<tr><td>row {i}</td><td>value {i * 7}</td></tr>\n" for i in range(rows))
    path.write_text(f"<html><head><title>Table</title></head><body><table>{body}</table></body></html>", "utf-8")


def nested_html(path: Path, depth: int) -> None:
    path.write_text(
        "<html><body>" + "<div><span>x</span>" * depth + "deepest words" + "</div>" * depth + "</body></html>",
        "utf-8",
    )


LOAD = """
import json, sys
from pathlib import Path
from index.loaders import load_file
got = load_file(Path(sys.argv[-1]), 10**9)
print(json.dumps({"chars": len(got.text), "head": got.text[:60], "tail": got.text[-60:], "title": got.title,
                  "x": got.text.count("x")}))
"""


def load_bounded(path: Path, timeout: float = 60) -> dict[str, object]:
    return run_bounded(LOAD.replace("sys.argv[-1]", repr(str(path))), timeout)


@pytest.mark.slow
def test_html_long_table_of_5_mb_is_read_whole(tmp_path: Path) -> None:
    # The old loader took 57 s on 1 MB (14,000 rows) and did not finish 5 MB in 300 s.
    page = tmp_path / "table.html"
    long_table_html(page, 100_000)
    assert page.stat().st_size > 4_800_000
    got = load_bounded(page)
    assert got["title"] == "Table"
    assert str(got["head"]).startswith("row 0 | value 0")
    assert str(got["tail"]).endswith("row 99999 | value 699993")


@pytest.mark.slow
def test_html_nested_100_000_levels_deep_is_read_whole(tmp_path: Path) -> None:
    # The old loader took 32.6 s on 400 KB of nested tags; libxml2 without huge_tree
    # would stop at depth 256 and silently drop the rest.
    page = tmp_path / "nested.html"
    nested_html(page, 100_000)
    assert page.stat().st_size > 2_400_000
    got = load_bounded(page)
    assert got["x"] == 100_000
    assert str(got["tail"]).endswith("deepest words")


def test_html_unclosed_tags_are_not_quadratic(tmp_path: Path) -> None:
    # "<a<a<a..." makes Python's html.parser rescan to the end at every "<" (15 s for 80 KB).
    page = tmp_path / "unclosed.html"
    page.write_text("<html><body><p>Some words first.</p>" + "<a" * 400_000 + "</body></html>", "utf-8")
    got = load_bounded(page, timeout=60)
    assert got["head"] == "Some words first."


def test_html_text_skips_scripts_and_keeps_blocks_apart(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Caf&eacute; &amp; co</title><style>p{}</style></head><body>"
        "<p>One <b>bold</b> word</p><script>var s = '<p>hidden</p>';</script>"
        "<svg><title>not the title</title><text>drawn</text></svg>"
        "<table><tr><td>a</td><td>b</td></tr></table>tail</body></html>",
        "utf-8",
    )
    got = load_file(page, 1_000_000)
    assert got.title == "Café & co"
    assert got.text == "One bold word\n\na | b\n\ntail"


def test_docx_nested_tables_are_read_once(tmp_path: Path) -> None:
    # Every row of a nested table used to be read again at each level of nesting above it.
    import docx

    document = docx.Document()
    document.add_paragraph("Report on nested tables.")
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    for level in range(12):
        cell.text = f"level {level}"
        cell = cell.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = "innermost fact"
    path = tmp_path / "nested.docx"
    document.save(str(path))
    text = load_file(path, 10_000_000).text
    assert text.count("innermost fact") == 1
    assert text.count("level 5") == 1


CHUNK = """
import json, random
from index.chunking import chunk_text
rng = random.Random(1)
vocab = "harbour lantern orchard glacier compass ledger meadow quarry beacon canyon".split()
KIND
count = 0
covered = 0
for c in chunk_text(text, chunk_size=224, chunk_overlap=64):
    assert 0 < c.tokens <= 240, c  # "about" chunk_size: word counts are estimates
    count += 1
    covered = c.end
print(json.dumps({"chunks": count, "covered": covered, "length": len(text.rstrip())}))
"""

TEXTS = {
    # many short lines, no sentence ends: the splitter copied the rest of the text at every line
    "lines": "text = '\\n'.join(' '.join(rng.choice(vocab) for _ in range(9)) for _ in range(120_000))",
    # one giant line of words, no sentence end: one 8 MB "sentence"
    "one_line": "text = ' '.join(rng.choice(vocab) for _ in range(1_100_000))",
    # one word repeated (10 MB): many chunks, streamed
    "one_word": "text = 'word ' * 2_000_000",
    # a blob without spaces: cut into pieces that fit a chunk
    "blob": "text = 'ab0Z' * 250_000",
    # a run of dots: the sentence-end pattern once retried at every dot
    "dots": "text = 'Start. ' + '.' * 300_000 + ' end.'",
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_chunking_big_texts_is_linear_and_covers_them(kind: str) -> None:
    got = run_bounded(CHUNK.replace("KIND", TEXTS[kind]), timeout=120)
    assert got["chunks"] and got["covered"] == got["length"]


def test_windowed_sentences_are_the_same_as_whole_text() -> None:
    import random

    rng = random.Random(99)
    words = ["alpha", "beta", "Dr.", "3.5", "e.g.", "J.", "gamma,", "Omega", "- item", "# Head", "1. one", "U.S."]
    enders = [".", "!", "?", "", ".\n", "\n\n", ".\n\n", ":\n- ", "\n", "\n  ", "...", '?!" ']
    compared = 0
    for _ in range(1500):
        text = " ".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) + rng.choice(enders)
            for _ in range(rng.randint(1, 40))
        )
        whole = split_sentences(text)
        if max((e - s for s, e in whole), default=0) >= 60:
            continue  # a sentence longer than the window is cut by design
        for window in (60, 97, 150):
            assert [sp for spans in sentence_windows(text, 0, len(text), window) for sp in spans] == whole
            compared += 1
    assert compared > 1000


def test_a_sentence_longer_than_the_window_is_cut_at_white_space() -> None:
    text = "Short one. " + " ".join(["word"] * 100) + " end."
    spans = [sp for spans in sentence_windows(text, 0, len(text), 64) for sp in spans]
    assert all(e - s <= 64 for s, e in spans)
    assert all(text[e - 1] != " " and (e == len(text) or text[e] == " ") for s, e in spans)
    covered = "".join(text[s:e] + " " for s, e in spans).split()
    assert covered == text.split()
