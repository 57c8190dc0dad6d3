"""The UI polish as plain functions: cited passages once and readable, natural example questions,
no emoji, uploads inside the index, a delete that asks first (real model and Chroma where an index is needed)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pytest

from index.models import Chunk, DocumentRecord
from rag import Answer, Assistant, Citation
from rag.views import example_questions
from ui import render
from ui.app import default_uploads_dir
from ui.handlers import Handlers

EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f]")
PASSAGE = (
    "## Budget\n\nThe Falcon budget for the coming year is four million euros, most of it spent\n"
    "on boats and water sensors. The station board approved that budget in March\n"
    "after a short debate.\n\n- boats first\n- then `sensors`\n"
)


def _chunk(text: str = PASSAGE, cid: str = "c1") -> Chunk:
    return Chunk(cid, text, "/d/falcon.md", "falcon.md", "Project Falcon", None, 0, len(text), 40, 0, "h")


def _span(text: str, sentence: str) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def test_two_citations_of_one_passage_share_a_card_numbered_by_both() -> None:
    chunk, other = _chunk(), _chunk("Boats are checked weekly.", "c2")
    first = _span(PASSAGE, "The Falcon budget for the coming year is four million euros")
    second = _span(PASSAGE, "The station board approved that budget in March")
    answer = Answer("q", "Four million. [1] In March. [2] Weekly. [3]", (
        Citation(1, chunk, first, 0.9), Citation(2, chunk, second, 0.7), Citation(3, other, (0, 25), 0.5),
    ), (), False)
    html = render.sources_html(answer)
    assert html.count('class="rag-source"') == 2
    head = re.search(r'<span class="rag-ns">(.*?)</span>', html)
    assert head and re.sub("<[^>]+>", "", head.group(1)) == "[1, 2]"
    assert html.count("four million euros") == 1 and "score 0.90" in html
    marks = re.findall(r'<mark class="rag-support">(.*?)</mark>', html)
    assert "The Falcon budget for the coming year is four million euros" in marks
    assert "The station board approved that budget in March" in marks


def test_a_passage_reads_as_text_not_as_its_source_file() -> None:
    from rag.views import passage_blocks

    out = render.passage_html(PASSAGE, [_span(PASSAGE, "most of it spent\non boats")])
    text = re.sub("<[^>]+>", "", out)
    assert "##" not in text and "\n" not in text and "`" not in text
    assert "most of it spent on boats and water sensors" in text
    assert '<p class="rag-heading">Budget</p>' in out and '<p class="rag-item">then <code>sensors</code></p>' in out
    assert '<mark class="rag-support">most of it spent on boats</mark>' in out  # one highlight across the break
    blocks = passage_blocks(PASSAGE)
    assert [b.kind for b in blocks] == ["heading", "paragraph", "item", "item"]
    # code keeps its lines; escaping still holds
    code = "```\nrag ingest docs\nrag ask <q>\n```\n"
    assert render.passage_html(code, []) == '<pre class="rag-code">rag ingest docs\nrag ask &lt;q&gt;</pre>'


def test_example_questions_read_naturally() -> None:
    from rag.views import opening_heading, plain_title

    def record(display: str, title: str, chunks: int = 1) -> DocumentRecord:
        return DocumentRecord(f"/d/{display}", display, title, "h", chunks, 0, 1, 0.0)

    records = [
        record("000_5e1f0c2a9b7d4e83.txt", "000_5e1f0c2a9b7d4e83", 9),  # plain text: the title is its name
        record("tuning.md", "Tuning `rag eval` runs", 3),
        record("ingest.md", "How do I delete a document?", 2),
        record("ui.md", "The chat web UI", 1),
        record("README.md", "rag-assistant", 30),  # one word: a vague question, offered last
    ]
    assert example_questions(records, 5) == [
        "What do the documents say about Tuning rag eval runs?",
        "How do I delete a document?",
        "What do the documents say about the chat web UI?",
        "What do the documents say about rag-assistant?",
    ]
    # a plain-text file whose first line reads as a heading gives that heading
    openings = {"/d/000_5e1f0c2a9b7d4e83.txt": "Winter care for bees\n\nKeep the hive dry."}
    assert example_questions(records, 1, openings) == ["What do the documents say about Winter care for bees?"]
    assert opening_heading("In recent years, the river rose. It flooded.\nMore text.") == ""
    assert plain_title("## See [the guide](http://x) for **more**") == "See the guide for more"


def test_nothing_the_app_writes_needs_an_emoji_font() -> None:
    chunk = _chunk()
    cited = Answer("q", "Four million. [1] Made up. [7]", (Citation(1, chunk, (0, 9), 0.9),), (), False)
    shown = [
        render.answer_markdown(cited),
        render.answer_markdown(Answer("q", "Not found in the documents.", (), (), True)),
        render.progress_markdown([("a.md", "done", "added"), ("b.md", "failed", "x"), ("c.exe", "rejected", "y"),
                                  ("d.md", "queued", "")], "1 added"),
    ]
    for text in shown:
        assert not EMOJI.findall(text), text
    assert "not supported by the sources" in shown[0]


def test_code_spans_in_an_answer_become_code_and_stay_escaped() -> None:
    assert render.md_code_spans("run `rag ask <q>` now") == "run <code>rag ask &lt;q&gt;</code> now"
    assert render.md_code_spans("a ` alone") == "a \\` alone"
    answer = Answer("q", "Run `rag delete PATH` to delete. [1]", (Citation(1, _chunk(), (0, 9), 0.9),), (), False)
    assert "Run <code>rag delete PATH</code> to delete." in render.answer_markdown(answer)


@pytest.fixture
def handlers(make_assistant: Callable[..., Assistant], tmp_path: Path) -> Handlers:
    assistant = make_assistant(tmp_path / "index")
    doc = tmp_path / "docs" / "herons.md"
    doc.parent.mkdir()
    doc.write_text("# Herons\n\nThe heron called Hugo fishes at the mill pond every dawn.\n", "utf-8")
    assert assistant.ingest([doc]).ok
    return Handlers(assistant, uploads_dir=default_uploads_dir(assistant))


def test_uploads_are_kept_inside_the_index_folder(handlers: Handlers, tmp_path: Path) -> None:
    assert handlers.uploads_dir == (tmp_path / "index" / "uploads").resolve()


def test_delete_asks_before_it_deletes(handlers: Handlers) -> None:
    prompt, row, pending = handlers.confirm_delete("herons.md")
    assert "Delete **herons.md** from the index?" in prompt and row["visible"] is True and pending == "herons.md"
    assert [r.display for r in handlers.assistant.sources()] == ["herons.md"], "asking deleted nothing"
    assert handlers.cancel_delete()[2] == ""
    for bad in (None, "", "never-indexed.md"):
        with pytest.raises(gr.Error):
            handlers.confirm_delete(bad)
    note, *_ = handlers.delete(pending)
    assert "Deleted herons.md" in note and handlers.assistant.sources() == []
