"""Follow-up questions (rag.condense, rag.chat): the rule, history trimming, message parsing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from index.errors import RagError
from index.tokens import count_tokens
from rag import Assistant
from rag.chat import split_turn, standalone_question
from rag.condense import Message, as_messages, format_history, is_follow_up, rule_condense, trim_history


@pytest.mark.parametrize(
    "question",
    ["and who said that?", "What about Germany?", "Why did he leave?", "When?", "and its budget",
     "How much did they spend on it?"],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    ["Who founded the Acme company in Ohio?", "What is China's policy on quantum computing research?"],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert not is_follow_up(question)
    assert rule_condense(["What is the capital of France?"], question) == question


def test_rule_joins_the_topic() -> None:
    out = rule_condense(["What did China announce about quantum computing?"], "and who said that?")
    assert out == "Who said that? (about: What did China announce about quantum computing?)"


def test_rule_keeps_the_root_topic_over_chained_follow_ups() -> None:
    out = rule_condense(["What did China announce about quantum computing?", "and who said that?"], "and when?")
    assert out == "When? (about: What did China announce about quantum computing?)"


def test_no_history_means_no_rewrite() -> None:
    assert rule_condense([], "and who said that?") == "and who said that?"


def test_trim_history_keeps_the_newest_within_budget() -> None:
    history = [Message("user" if i % 2 == 0 else "assistant", f"message number {i} " + "x " * 50)
               for i in range(10)]
    one = count_tokens(history[0].content) + 4
    kept = trim_history(history, budget=4 * one + 2)
    assert [m.content.split()[2] for m in kept] == ["6", "7", "8", "9"]
    assert [m.content.split()[2] for m in trim_history(history, budget=3 * one + 2)] == ["8", "9"]
    assert trim_history(history, 0) == []
    assert trim_history([Message("system", "s"), Message("user", "u")], 100) == [Message("user", "u")]


def test_messages_as_dicts_or_objects() -> None:
    parsed = as_messages([{"role": "user", "content": "hi"}, Message("assistant", "hello")])
    assert parsed == [Message("user", "hi"), Message("assistant", "hello")]
    with pytest.raises(ValueError, match="message 0"):
        as_messages([{"role": "bot", "content": "x"}])
    assert format_history(parsed) == "User: hi\nAssistant: hello"


def test_split_turn_needs_a_final_user_message() -> None:
    with pytest.raises(RagError, match="ending with the user's question"):
        split_turn([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])
    assert split_turn([{"role": "user", "content": " q "}]) == ([], "q")


class RecordingCondenser:
    def __init__(self) -> None:
        self.calls: list[tuple[list[Message], str]] = []

    def condense(self, history: Sequence[Message], question: str) -> str:
        self.calls.append((list(history), question))
        return "Who announced China's quantum computing plans?"


def test_standalone_question_uses_the_llm_when_there_is_one_and_trims_history() -> None:
    messages = [
        {"role": "user", "content": "old question " + "y " * 400},
        {"role": "assistant", "content": "old answer"},
        {"role": "user", "content": "What did China announce about quantum computing?"},
        {"role": "assistant", "content": "Plans to develop it [1]."},
        {"role": "user", "content": "and who said that?"},
    ]
    condenser = RecordingCondenser()
    question, rewritten = standalone_question(messages, condenser, history_tokens=100)
    assert question == "and who said that?" and rewritten == "Who announced China's quantum computing plans?"
    history, _ = condenser.calls[0]
    assert history[0].content == "What did China announce about quantum computing?"  # old turn trimmed
    # without an LLM: the rule
    _, by_rule = standalone_question(messages, None, history_tokens=100)
    assert by_rule == "Who said that? (about: What did China announce about quantum computing?)"
    # a standalone question is not rewritten
    assert standalone_question(messages[:3], None, 100) == (messages[2]["content"], "")


# -- a question that names its subject stands alone ------------------------------------------

@pytest.mark.parametrize(
    ("question", "vague"),
    [("How much is the Falcon budget?", "How much is the budget?"),
     ("Who is Doug Fuller?", "Who is he?"),
     ("When did Okonkwo join?", "When did they join?")],
)
def test_a_question_naming_its_subject_is_searched_as_written(question: str, vague: str) -> None:
    assert not is_follow_up(question)
    assert rule_condense(["Who leads Project Falcon?"], question) == question
    messages = [
        {"role": "user", "content": "Who leads Project Falcon?"},
        {"role": "assistant", "content": "Mira Okonkwo leads it [1]."},
        {"role": "user", "content": question},
    ]
    assert standalone_question(messages, None, 1024) == (question, "")
    # the same question naming nothing still leans on the conversation
    assert is_follow_up(vague)
    assert rule_condense(["Who leads Project Falcon?"], vague).endswith("(about: Who leads Project Falcon?)")


def test_the_assistant_searches_a_standalone_second_question_as_written(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    doc = tmp_path / "falcon.md"
    doc.write_text(
        "# Project Falcon\n\nProject Falcon is led by Mira Okonkwo of the Westbrook field station.\n\n"
        "## Money\n\nThe Falcon budget for the coming year is four million euros.\n", "utf-8",
    )
    assistant = make_assistant()
    assert assistant.ingest([doc]).ok
    first = assistant.chat([{"role": "user", "content": "Who leads Project Falcon?"}])
    answer = assistant.chat([
        {"role": "user", "content": "Who leads Project Falcon?"},
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "How much is the Falcon budget?"},
    ])
    assert answer.standalone_question == "" and answer.question == "How much is the Falcon budget?"
    assert "four million euros" in answer.text
