"""The UI's handlers and renderers as plain functions: no server, no browser (real model, real Chroma)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pytest

from rag import Answer, Assistant, RagError
from rag.views import answer_segments, example_questions
from tests.conftest import ARTICLE
from ui import render
from ui.app import build_app, parse_auth, sample_paths
from ui.handlers import Handlers, Turn
from ui.uploads import accept_uploads

XSS = "Zorblat facts.\nThe zorblat <script>window.__pwned = 1</script> eats <img src=x onerror=\"window.__pwned=2\"> " \
      "[click](javascript:alert(1)) ${alert(3)} {{constructor.constructor('alert(4)')()}} moss every day.\n"


def _run_chat(  # type: ignore[no-untyped-def]
    h: Handlers, question: str, turns: tuple[Turn, ...] = (), messages: list[dict[str, object]] | None = None
):
    return list(h.chat(question, messages or [], turns))


@pytest.fixture
def handlers(article_assistant: Assistant, tmp_path: Path) -> Handlers:
    return Handlers(article_assistant, uploads_dir=tmp_path / "uploads")


@pytest.fixture
def writable(make_assistant: Callable[..., Assistant], tmp_path: Path) -> Handlers:
    a = make_assistant()
    assert a.ingest([ARTICLE]).ok
    return Handlers(a, uploads_dir=tmp_path / "uploads")


# -- rendering: escaped text, links, highlights ---------------------------------------

def test_md_escape_neutralises_markup() -> None:
    out = render.md_escape('<script>x</script> [a](javascript:y) **b** $$c$$ & "q"')
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out and "&amp;" in out
    assert "\\[a\\]\\(javascript:y\\)" in out and "\\*\\*b\\*\\*" in out and "\\$\\$" in out


def test_answer_markdown_links_each_marker_and_marks_unsupported(article_assistant: Assistant) -> None:
    answer = article_assistant.ask("Who is Ilse Varga?")
    md = render.answer_markdown(answer)
    c = answer.citations[0]
    assert f"[\\[1\\]](source?chunk={c.chunk.id}&start={c.span[0]}&end={c.span[1]}" in md
    assert "not supported" not in md
    forged = Answer(answer.question, answer.text + " Invented claim here.", answer.citations, answer.hits, False)
    assert [s.supported for s in answer_segments(forged)][-1] is False
    assert "Invented claim here. **(not supported by the sources)**" in render.answer_markdown(forged)


def test_abstention_is_shown_as_not_found(article_assistant: Assistant) -> None:
    answer = article_assistant.ask("What is the capital of France?")
    assert answer.abstained
    assert "Not found" in render.answer_markdown(answer)
    assert "Not found in the documents" in render.sources_html(answer)


def test_sources_panel_has_file_score_and_highlighted_sentence(article_assistant: Assistant) -> None:
    answer = article_assistant.ask("Who is Ilse Varga?")
    out = render.sources_html(answer)
    c = answer.citations[0]
    assert c.chunk.display in out and f"score {c.score:.2f}" in out
    assert f'<mark class="rag-support">{c.sentence}</mark>' in out.replace("&#x27;", "'")


def test_sources_panel_escapes_document_text(article_assistant: Assistant) -> None:
    answer = article_assistant.ask("Who is Ilse Varga?")
    c = answer.citations[0]
    evil_chunk = type(c.chunk)(**{**c.chunk.__dict__, "text": XSS, "display": "<b>x</b>.txt"})
    evil = type(c)(1, evil_chunk, (0, 14), 0.5)
    out = render.sources_html(Answer("q", "Zorblat facts. [1]", (evil,), (), False))
    assert "<script>" not in out and "<img" not in out and "<b>x" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=" in out


# -- library additions used by the UI -------------------------------------------------

def test_example_questions_never_show_a_file_name(article_assistant: Assistant) -> None:
    questions = example_questions(article_assistant.sources())
    assert all("harrowmere-water" not in q and q.endswith("?") for q in questions)


def test_open_cited_document_only_opens_indexed_chunks(article_assistant: Assistant) -> None:
    answer = article_assistant.ask("Who is Ilse Varga?")
    c = answer.citations[0]
    view = article_assistant.open_source(c.chunk.id)
    assert view.text[view.start : view.end] == c.chunk.text and not view.note
    for bad in ("", "../../etc/passwd", "0" * 40):
        with pytest.raises(RagError):
            article_assistant.open_source(bad)


def test_open_cited_document_when_the_file_changed(writable: Handlers, tmp_path: Path) -> None:
    doc = tmp_path / "uploads" / "notes.txt"
    doc.parent.mkdir(parents=True)
    doc.write_text("The heron named Hugo fishes at the lake every dawn.\n")
    a = writable.assistant
    a.ingest([doc])
    cited = a.ask("What does Hugo the heron do?").citations[0]
    doc.write_text("Completely different text now.\n")
    view = a.open_source(cited.chunk.id)
    assert "changed" in view.note and view.text == cited.chunk.text


# -- chat -------------------------------------------------------------------------------

def test_chat_streams_then_shows_sources_and_markdown(handlers: Handlers) -> None:
    updates = _run_chat(handlers, "Who is Ilse Varga?")
    assert len(updates) >= 3
    first_msgs, first_turns, *_ = updates[0]
    assert first_msgs[-1]["content"] == "▌" and first_turns == ()
    streamed = [u[0][-1]["content"] for u in updates[1:-1]]
    assert streamed and all(s.endswith("▌") for s in streamed)
    messages, turns, sources, markdown, box = updates[-1]
    assert box == "" and len(turns) == 1 and turns[0].question == "Who is Ilse Varga?"
    assert "chief water engineer" in messages[-1]["content"] and "source?chunk=" in messages[-1]["content"]
    assert "<mark" in sources and markdown.startswith(turns[0].answer.text) and "Sources:\n[1]" in markdown


def test_follow_up_keeps_the_session_history(handlers: Handlers) -> None:
    messages, turns, *_ = _run_chat(handlers, "Who is Ilse Varga?")[-1]
    follow_up = "Which contractor is digging the tunnel?"
    messages, turns, _sources, *_ = _run_chat(handlers, follow_up, turns, messages)[-1]
    assert [t.question for t in turns] == ["Who is Ilse Varga?", "Which contractor is digging the tunnel?"]
    assert len(messages) == 4 and "Brennmoor Tunnelling" in messages[-1]["content"]
    # clicking the first answer shows its sources again
    panel, md = handlers.select_message(turns, 1)
    assert "chief water engineer" in panel and md == turns[0].answer.to_markdown()  # type: ignore[union-attr]


def test_empty_question_is_refused(handlers: Handlers) -> None:
    with pytest.raises(gr.Error):
        _run_chat(handlers, "   ")


def test_a_library_error_becomes_an_inline_notice_and_chat_goes_on(
    handlers: Handlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object, **_k: object) -> object:
        raise RagError("the index was built with another model; run `rag reset`")

    monkeypatch.setattr(handlers.assistant, "stream", broken)
    messages, turns, sources, *_ = _run_chat(handlers, "Who is Ilse Varga?")[-1]
    assert "Could not answer" in messages[-1]["content"] and "another model" in messages[-1]["content"]
    assert "rag-error" in sources and turns[-1].answer is None
    monkeypatch.undo()
    messages, turns, *_ = _run_chat(handlers, "Who is Ilse Varga?", turns, messages)[-1]
    assert "chief water engineer" in messages[-1]["content"] and len(turns) == 2


def test_follow_up_goes_to_the_assistant_as_a_conversation(
    handlers: Handlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[dict[str, object]]] = []
    real = handlers.assistant.chat_stream

    def chat_stream(messages, **kw):  # type: ignore[no-untyped-def]
        seen.append(list(messages))
        return real(messages, **kw)

    monkeypatch.setattr(handlers.assistant, "chat_stream", chat_stream)
    _, turns, *_ = _run_chat(handlers, "Who is Ilse Varga?")[-1]
    messages, turns, *_ = _run_chat(handlers, "What did she say at the groundbreaking?", turns)[-1]
    assert [m["role"] for m in seen[1]] == ["user", "assistant", "user"]
    assert seen[1][0]["content"] == "Who is Ilse Varga?" and seen[1][1]["content"] == turns[0].answer.text  # type: ignore[union-attr]
    answer = turns[1].answer
    assert answer is not None and answer.question == "What did she say at the groundbreaking?"
    if answer.standalone_question:  # the Assistant rewrote the follow-up: the chat says what it searched for
        assert "Searched for:" in messages[-1]["content"]


def test_ask_api_returns_json_and_counts_turns(handlers: Handlers) -> None:
    result, turns = handlers.ask("Who is Ilse Varga?", 5, "", ())
    assert result["citations"][0]["chunk"]["display"] == ARTICLE.name and result["turn"] == 1
    result, turns = handlers.ask("How high is the earth dam?", 3, "", turns)
    assert result["history"] == ["Who is Ilse Varga?", "How high is the earth dam?"]
    assert "46 metres" in result["text"] and len(result["hits"]) == 3
    with pytest.raises(gr.Error):
        handlers.ask("", 5, "", ())


# -- documents --------------------------------------------------------------------------

def test_ingest_reports_each_file_and_lists_it(writable: Handlers, tmp_path: Path) -> None:
    good = tmp_path / "in" / "herons.md"
    good.parent.mkdir()
    good.write_text("# Herons\n\nThe heron named Hugo fishes at the lake every dawn.\n")
    empty = tmp_path / "in" / "empty.txt"
    empty.write_text("   \n")
    exe = tmp_path / "in" / "tool.exe"
    exe.write_bytes(b"MZ")
    updates = list(writable.ingest([str(good), str(empty), str(exe)]))
    final, table, picker, status = updates[-1]
    assert "| herons.md | done: added |" in final
    assert "| empty.txt | failed: empty file" in final
    assert "| tool.exe | rejected: file type .exe is not accepted" in final
    assert any(row[0] == "herons.md" for row in table) and "herons.md" in picker["choices"]
    assert "**Documents** 2" in status
    answer = writable.assistant.ask("Who fishes at the lake?")
    assert "Hugo" in answer.text and answer.citations[0].chunk.display == "herons.md"

    note, table, picker, status = writable.delete("herons.md")
    assert "Deleted" in note and all(row[0] != "herons.md" for row in table)
    assert not (tmp_path / "uploads" / "herons.md").exists() and "**Documents** 1" in status
    with pytest.raises(gr.Error):
        writable.delete("herons.md")


def test_nothing_acceptable_is_an_error(writable: Handlers, tmp_path: Path) -> None:
    exe = tmp_path / "x.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(gr.Error, match=r"file type \.exe is not accepted"):
        list(writable.ingest([str(exe)]))
    with pytest.raises(gr.Error):
        list(writable.ingest([]))


def test_zip_is_unpacked_safely_with_limits(tmp_path: Path) -> None:
    archive = tmp_path / "folder.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/one.md", "# One\n\nFirst file.\n")
        zf.writestr("../escape.txt", "outside")
        zf.writestr("/abs.txt", "outside")
        zf.writestr("big.txt", "x" * 5000)
        zf.writestr("run.sh", "echo")
    got = accept_uploads([archive], tmp_path / "up", max_bytes=1000)
    assert [p.relative_to(tmp_path / "up").as_posix() for p in got.paths] == ["folder/a/one.md"]
    reasons = {r.name: r.reason for r in got.rejected}
    assert "over the limit" in reasons["folder.zip/big.txt"] and "not supported" in reasons["folder.zip/run.sh"]
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "up" / "escape.txt").exists()
    too_big = tmp_path / "huge.txt"
    too_big.write_text("y" * 2000)
    assert "over the upload limit" in accept_uploads([too_big], tmp_path / "up", 1000).rejected[0].reason


# -- the source page, settings, startup -------------------------------------------------

def test_source_page_highlights_the_sentence_and_escapes_everything(writable: Handlers, tmp_path: Path) -> None:
    doc = tmp_path / "zorblat.txt"
    doc.write_text(XSS)
    list(writable.ingest([str(doc)]))
    answer = writable.assistant.ask("What does the zorblat eat?")
    c = next(c for c in answer.citations if c.chunk.display == "zorblat.txt")
    page = writable.source_page({"chunk": c.chunk.id, "start": str(c.span[0]), "end": str(c.span[1])})
    assert '<mark id="rag-cited" class="rag-support">' in page and "zorblat.txt" in page
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "rag-error" in writable.source_page({"chunk": "/etc/passwd"})
    assert "rag-error" in writable.source_page({})


def test_status_and_examples(handlers: Handlers) -> None:
    status = handlers.status()
    chunks = handlers.assistant._store.count_chunks()
    assert "**Documents** 1" in status and "MiniLM" in status and f"**chunks** {chunks}" in status and chunks > 1
    assert all(q.endswith("?") for q in handlers.examples())


def test_parse_auth(tmp_path: Path) -> None:
    assert parse_auth(None) is None
    assert parse_auth("ann:secret:with:colons") == [("ann", "secret:with:colons")]
    f = tmp_path / "users"
    f.write_text("# logins\nann:one\n\nbob:two\n")
    assert parse_auth(str(f)) == [("ann", "one"), ("bob", "two")]
    with pytest.raises(RagError, match="user:password"):
        parse_auth("nopassword")


def test_sample_corpus_is_the_projects_docs() -> None:
    root = Path(__file__).resolve().parents[1]
    for path in sample_paths():
        assert path == root / "README.md" or (path.parent == root / "docs" and path.suffix == ".md")


def test_app_builds_with_named_api_endpoints(article_assistant: Assistant, tmp_path: Path) -> None:
    from ui.app import UIConfig

    demo = build_app(article_assistant, UIConfig(uploads_dir=tmp_path))
    names = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert {"ask", "ingest", "sources"} <= names
    assert not any(n.startswith("ui_") for n in names)
