"""The question's wording steers the unit choice: an instruction after a restated problem, the
unit holding the measure or focus asked for gets embedded, the form words are not topic terms (pure logic)."""

from __future__ import annotations

from index.models import Chunk, Hit
from index.sentences import split_sentences
from rag.abstention import missing_measure
from rag.answer_shape import instruction_after
from rag.answer_units import find_units
from rag.config import Settings
from rag.extractive import decide
from rag.question_types import asked_part, is_instruction, question_type
from rag.unit_scores import Candidate, preselect, score_candidates

DEFAULT = Settings().extractive_config()

TROUBLE = (
    '**"index is locked"**: another Ferrule process is running against the same archive folder. '
    "Stop it, or if it crashed, delete the stale `ferrule.pid` file in the archive folder. "
    "The weather was fine that day."
)


def _chunk(text: str, cid: str = "c1") -> Chunk:
    return Chunk(cid, text, "/d/a.md", "a.md", "a", None, 0, len(text), 40, 0, "h")


def _sentences(text: str, scores: list[float]) -> list[Candidate]:
    hit = Hit(_chunk(text), 1.0, 1)
    spans = split_sentences(text)
    cands = [Candidate(hit, span, 0.6, 0.6, s) for span, s in zip(spans, scores, strict=True)]
    return sorted(cands, key=lambda c: -c.score)


def test_the_sentence_of_a_question_that_asks_sets_its_type() -> None:
    question = "I get an error that the index is locked. How do I fix it?"
    assert asked_part(question) == "How do I fix it?"
    assert question_type(question).name == "howto"
    assert question_type("Is Dr. Smith in today?").name == "yesno"  # an abbreviation is no sentence end


def test_instructions_are_recognised() -> None:
    assert is_instruction("Stop it, or if it crashed, delete the stale `ferrule.pid` file.")
    assert is_instruction("Run the tool with --force.")
    assert not is_instruction('**"index is locked"**: another process is running against the same folder.')


def test_the_fix_after_a_restated_problem_is_quoted_with_it() -> None:
    cands = _sentences(TROUBLE, [0.9, 0.5, 0.45])
    chosen = decide(cands, DEFAULT, "I get an error that the index is locked. How do I fix it?")
    assert [c.sentence_text.split()[0] for c in chosen] == ['**"index', "Stop"]
    # a question that is no "how do I" keeps the best unit alone
    alone = decide(cands, DEFAULT, "Why is the index locked?")
    assert [c.sentence_text.split()[0] for c in alone] == ['**"index']


def test_no_instruction_is_added_after_a_unit_that_is_one_or_from_elsewhere() -> None:
    cands = _sentences(TROUBLE, [0.4, 0.9, 0.45])
    best = next(c for c in cands if c.sentence_text.startswith("Stop"))
    assert instruction_after(best, cands) is None  # already says what to do
    other = Candidate(Hit(_chunk(TROUBLE, "c2"), 1.0, 2), best.span, 0.6, 0.6, 0.5)
    first = next(c for c in cands if c.sentence_text.startswith("**"))
    assert instruction_after(first, [other]) is None  # the same span of another chunk is no neighbour


MEETING = (
    "## 3. Membership fee\n\n"
    "Mei reported that the co-op has 188 paying members.\n\n"
    "The parts shelf ran out of inner tubes twice.\n\n"
    "The reduced fee for students stays at 15 euros.\n"
)


def test_a_price_question_embeds_the_units_that_hold_a_price() -> None:
    question = "What do students pay to join the co-op?"
    assert missing_measure(question, ["Mei reported that the co-op has 188 paying members."]) == "money"
    hit = Hit(_chunk(MEETING), 1.0, 1)
    units = [(hit, u) for u in find_units(MEETING)]
    kept = preselect(question, units, 1, question_type(question))
    quoted = [hit.chunk.text[u.span[0] : u.span[1]] for _, u in kept]
    assert quoted == ["The reduced fee for students stays at 15 euros."]


def test_words_naming_the_answer_form_are_not_terms_a_unit_must_hold() -> None:
    text = "# Remote Work Policy\nHalvard Marine Research Institute\nAuthor: Dr. Imke Sorensen, Head of Operations\n"
    hit = Hit(_chunk(text), 1.0, 1)
    units = [(hit, u) for u in find_units(text, document_start=True)]
    question = "Which organisation does the remote work policy belong to?"
    vectors = [[1.0, 0.0]] * len(units)
    scored = score_candidates(question, units, [1.0, 0.0], vectors, DEFAULT)
    institute = next(c for c in scored if c.sentence_text.startswith("Halvard"))
    # "organisation" is what the answer is; without it the unit's title holds the rest of the question
    with_noun = score_candidates(question.replace("organisation", "group"), units, [1.0, 0.0], vectors, DEFAULT)
    assert institute.lexical > next(c for c in with_noun if c.sentence_text.startswith("Halvard")).lexical
