"""The question-type table: which form of question wants which unit and evidence (pure logic)."""

from __future__ import annotations

import pytest

from rag.answer_units import CODE, FIELD, LIST, ROW, SENTENCE, TITLE
from rag.question_types import TABLE, fits, question_type, type_bonus


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("What is the title of the document approved on 3 March?", "title"),
        ("Who is the author of the harbour rules?", "author"),
        ("Who edited the plot holder handbook?", "author"),
        ("Who took the minutes at the meeting?", "author"),
        ("When will the policy be reviewed next?", "time"),
        ("What time does the workshop open on Saturdays?", "time"),
        ("How many people does the platter feed?", "quantity"),
        ("How much is a cake for a big party?", "quantity"),
        ("What does the sandwich tray cost?", "quantity"),
        ("Who do I talk to about paying my rent?", "who"),
        ("Which organisation does the policy belong to?", "who"),
        ("What file types can Kestrel read?", "list"),
        ("Which tools can plot holders borrow?", "list"),
        ("Where does it look for its settings file?", "where"),
        ("How do I add a password to the status page?", "howto"),
        ("Can I run it on Windows?", "yesno"),
        ("What is a ferrule?", "definition"),
        ("Tell me about the weather in May", "general"),
    ],
)
def test_question_type(question: str, name: str) -> None:
    assert question_type(question).name == name


def test_every_row_is_named_once() -> None:
    names = [row.name for row in TABLE]
    assert len(names) == len(set(names))


def test_a_title_is_quoted_only_for_a_title_question() -> None:
    assert fits(question_type("What is the title of the report?"), TITLE, "Harbour Safety Rules")
    assert not fits(question_type("Who wrote the report?"), TITLE, "Harbour Safety Rules")


def test_when_and_how_many_require_a_date_or_a_number() -> None:
    when = question_type("When was it approved?")
    assert fits(when, FIELD, "Approved on 3 March 2024")
    assert not fits(when, SENTENCE, "These rules keep people safe on the quays.")
    many = question_type("How many plots are there?")
    assert fits(many, SENTENCE, "The site has 96 plots.")
    assert not fits(many, SENTENCE, "The site has plots on a slope.")


def test_an_author_question_needs_an_author_line() -> None:
    author = question_type("Who wrote the harbour rules?")
    assert fits(author, FIELD, "Author: Dr. Ana Petrov, Harbour Master")
    assert fits(author, SENTENCE, "It was started in 2023 by Orla Benning.")
    assert not fits(author, SENTENCE, "The rules keep people safe on the quays.")
    # a title-page line ending in a person's name, and the German for "written by"
    assert fits(author, FIELD, "0. Edition, 31 December 2016 Mara Quell")
    assert not fits(author, FIELD, "0. Edition, 31 December 2016")
    assert not fits(author, SENTENCE, "The course ran in 2016 with Mara Quell")
    assert fits(author, SENTENCE, "Dieses Skript wurde 2014 von Mara Quell geschrieben.")


def test_the_bonus_prefers_the_right_kind_and_evidence() -> None:
    author = question_type("Who is the author of the harbour rules?")
    assert type_bonus(author, FIELD, "Author: Dr. Ana Petrov, Harbour Master") == 1.0
    assert type_bonus(author, FIELD, "Approved on 3 March 2024") < 1.0
    assert type_bonus(author, ROW, "| Ana | 3 |") == 0.0
    listing = question_type("What file types can Kestrel read?")
    assert type_bonus(listing, LIST, "- jpeg\n- png") > type_bonus(listing, ROW, "| jpeg |")
    howto = question_type("How do I rename without moving files?")
    assert type_bonus(howto, ROW, "| `--dry-run` | show the new names |") == 1.0
    assert type_bonus(howto, CODE, "pipx install kestrel") == 0.5
