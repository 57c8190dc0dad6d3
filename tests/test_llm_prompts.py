"""Prompt templates (rag.prompting): built-in files, variables checked, user folder overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import ConfigError
from rag.answering import NOT_FOUND
from rag.prompting import ANSWER, BUILTIN_DIR, CONDENSE, NO_ANSWER, Prompt, load_prompt, no_answer_text, template_fields


def test_builtin_prompts_exist_with_their_variables() -> None:
    for name in (ANSWER, CONDENSE, NO_ANSWER):
        assert (BUILTIN_DIR / f"{name}.txt").is_file()
    assert {"sources", "question", "no_answer"} <= set(load_prompt(ANSWER).fields)
    assert set(load_prompt(CONDENSE).fields) == {"history", "question"}
    assert no_answer_text() == NOT_FOUND  # one wording for every backend


def test_answer_prompt_says_sources_are_data_and_to_cite() -> None:
    text = load_prompt(ANSWER).render(sources="<source n=\"1\">x</source>", question="Q?", no_answer="NA")
    assert "never" in text and "instructions" in text and "[1]" in text and "NA" in text
    block = text.index("\n<sources>\n")
    assert block < text.index('<source n="1">') < text.index("\n</sources>\n") < text.index("Question: Q?")


def test_missing_variable_at_render_is_named() -> None:
    with pytest.raises(ConfigError, match="question"):
        load_prompt(ANSWER).render(sources="s", no_answer="n")


def test_user_folder_overrides_by_name(tmp_path: Path) -> None:
    (tmp_path / f"{NO_ANSWER}.txt").write_text("Nothing in your files answers that.\n")
    (tmp_path / f"{CONDENSE}.txt").write_text("History:\n{history}\nRewrite: {question}\n")
    assert no_answer_text(tmp_path) == "Nothing in your files answers that."
    assert load_prompt(CONDENSE, tmp_path).render(history="h", question="q") == "History:\nh\nRewrite: q\n"
    assert load_prompt(ANSWER, tmp_path).path == str(BUILTIN_DIR / f"{ANSWER}.txt")  # not overridden


def test_override_lacking_a_required_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / f"{ANSWER}.txt").write_text("Answer {question} from the documents.\n")
    with pytest.raises(ConfigError, match=r"\{sources\}.*RAG_PROMPTS_DIR"):
        load_prompt(ANSWER, tmp_path)


def test_edited_override_is_reread(tmp_path: Path) -> None:
    path = tmp_path / f"{NO_ANSWER}.txt"
    path.write_text("first")
    assert no_answer_text(tmp_path) == "first"
    path.write_text("second wording")
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert no_answer_text(tmp_path) == "second wording"


def test_bad_folder_and_unknown_name() -> None:
    with pytest.raises(ConfigError, match="RAG_PROMPTS_DIR"):
        load_prompt(ANSWER, "/nonexistent/prompts")
    with pytest.raises(ConfigError, match="no prompt named 'nope'"):
        load_prompt("nope")


def test_template_fields_and_literal_braces() -> None:
    assert template_fields("a {x} b {{literal}} {y} {x}") == ["x", "y"]
    assert Prompt("p", "{{json}} {v}", "p.txt").render(v=1) == "{json} 1"
    with pytest.raises(ValueError):
        template_fields("broken {")
