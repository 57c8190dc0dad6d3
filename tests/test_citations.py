"""Checked citations (rag.citations): parsing, invented markers, support scores, uncited answers."""

from __future__ import annotations

import time

from index.models import Chunk
from rag.citations import check_answer, check_extractive, parse_markers, remove_invalid, sentence_spans, summarize
from rag.models import Answer, Citation

NO_ANSWER = "Not found in the indexed documents."


def chunk(n: int, text: str) -> Chunk:
    return Chunk(id=f"c{n}", text=text, source=f"/docs/{n}.txt", display=f"{n}.txt", title=str(n),
                 page=None, start=100, end=100 + len(text), tokens=len(text.split()), position=n, doc_hash="h")


SOURCES = {
    1: chunk(1, "China made technological self-sufficiency a top priority. Trade tensions with the United "
                "States restrict exports of chips."),
    2: chunk(2, "The government announced plans to develop quantum computing and artificial intelligence. "
                "A new technology commission was established under the Communist party."),
    3: chunk(3, "The weather in Beijing was mild in March. Tourists visited the Great Wall."),
}


def test_parse_markers_variants() -> None:
    text = "A [1]. B [2, 3][4-5]. C [Source 6]. D [x] and [2024]. E [7 and 8]."
    assert [m.numbers for m in parse_markers(text)] == [(1,), (2, 3), (4, 5), (6,), (7, 8)]


def test_invented_citation_is_removed_and_counted() -> None:
    text = ("China made technological self-sufficiency a top priority [1]. "
            "It plans quantum computing and artificial intelligence [7][2]. The moon is cheese [9].")
    result = check_answer(text, SOURCES, no_answer=NO_ANSWER)
    assert "[7]" not in result.text and "[9]" not in result.text
    assert result.removed == (7, 9)
    assert "intelligence [2]." in result.text  # the valid marker kept, spacing intact
    assert [c.n for c in result.citations] == [1, 2]
    # the sentence whose only marker was invented is left uncited and flagged
    moon = result.sentences[2]
    assert moon.cited == () and not moon.supported
    assert not result.uncited


def test_remove_invalid_keeps_valid_numbers_in_a_list() -> None:
    assert remove_invalid("Grew [1, 7]. Fell [9].", {1}) == ("Grew [1]. Fell.", (7, 9))


def test_support_scores_and_evidence_span() -> None:
    text = ("The government plans to develop quantum computing [2]. "
            "Tourists visited the Great Wall in winter storms of chips [1].")
    result = check_answer(text, SOURCES, no_answer=NO_ANSWER)
    good, bad = result.sentences
    assert good.supported and good.score >= 0.8 and good.source == 2
    assert good.evidence is not None
    s, e = good.evidence
    assert "quantum computing" in SOURCES[2].text[s:e]
    assert not bad.supported and bad.score < 0.5  # cites [1], but the words are from [3]
    cited2 = next(c for c in result.citations if c.n == 2)
    assert "quantum" in cited2.sentence and cited2.sentences == (0,)
    assert cited2.document_span == (100 + s, 100 + e)
    assert summarize(result.sentences) == {"claims": 2, "supported": 1, "unsupported": 1}


def test_marker_after_the_period_belongs_to_the_sentence_before() -> None:
    text = "China made technological self-sufficiency a top priority. [1] Trade tensions restrict chips. [1]"
    spans = sentence_spans(text)
    assert len(spans) == 2 and text[spans[0][0] : spans[0][1]].endswith("[1]")
    result = check_answer(text, SOURCES)
    assert all(s.cited == (1,) and s.supported for s in result.sentences)


def test_answer_without_valid_citation_is_marked_uncited() -> None:
    result = check_answer("China prioritises self-reliance [5].", SOURCES, no_answer=NO_ANSWER)
    assert result.uncited and result.citations == () and result.removed == (5,)
    assert result.sentences[0].supported is False


def test_abstention_needs_no_citation() -> None:
    result = check_answer("Not found in the indexed documents.", SOURCES, no_answer=NO_ANSWER)
    assert result.abstained and not result.uncited
    assert all(s.supported for s in result.sentences)


def test_short_non_claims_are_not_flagged() -> None:
    result = check_answer("Yes. China made technological self-sufficiency a top priority [1].", SOURCES)
    assert result.sentences[0].claim is False and result.sentences[0].supported


def test_check_extractive_keeps_its_citations() -> None:
    c = SOURCES[2]
    cit = Citation(1, c, (0, 87), 0.9)
    answer = Answer("q", f"{c.text[0:87]} [1]", (cit,), (), False)
    checked = check_extractive(answer, NO_ANSWER)
    assert checked.citations[0].span == (0, 87) and checked.citations[0].sentences == (0,)
    assert checked.sentences[0].supported and checked.sentences[0].score == 1.0
    assert not checked.uncited and "check" in checked.timings


def test_checks_are_fast() -> None:
    # five retrieved passages of about 190 tokens (the default chunk size), a five-sentence answer
    passage = " ".join(SOURCES[n].text for n in (1, 2, 3)) * 3
    sources = {n: chunk(n, f"Passage {n}. " + passage) for n in range(1, 6)}
    text = " ".join(f"China made technological self-sufficiency a top priority [{n}]." for n in range(1, 6))
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        check_answer(text, sources)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.02  # the target: < 20 ms p50


def test_the_ui_and_the_evals_read_markers_as_the_checker_does() -> None:
    """One marker pattern (rag.citations.MARKER): `[1, 2]` and `[Source 3]` are citations everywhere."""
    from evals.metrics import strip_markers
    from rag.views import answer_segments

    text = "It grew [1, 2]. Then it fell. [Source 3] Why?"
    assert [m.numbers for m in parse_markers(text)] == [(1, 2), (3,)]
    segments = answer_segments(Answer("q", text, (), (), False))
    assert [(s.text, s.cites) for s in segments] == [("It grew.", (1, 2)), ("Then it fell.", (3,)), ("Why?", ())]
    assert strip_markers(text) == "It grew . Then it fell. Why?"
