"""index.text_terms: the one tokenizer stack of retrieval and the answerers; PyStemmer missing is an error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index import text_terms
from index.text_terms import (
    ANSWER_STOP_WORDS,
    RANKING_STOP_WORDS,
    MissingStemmerError,
    idf_weights,
    index_tokens,
    terms,
)
from rag.term_overlap import coverage

REPO = Path(__file__).resolve().parents[1]
_BLOCK_STEMMER = "import sys; sys.modules['Stemmer'] = None  # an import of Stemmer now fails\n"


def test_index_tokens_match_bm25s_tokenizer_the_indexes_were_built_with() -> None:
    import bm25s
    import Stemmer

    texts = [
        "The researchers' researching of computers, in 1911 and in 2024.",
        "naïve café’s don't I'm e-mail _under_score x1 3.14 a I",
        "",
    ]
    expected = bm25s.tokenize(
        texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False
    )
    assert index_tokens(texts) == [list(t) for t in expected]


def test_answer_terms_keep_apostrophes_and_drop_the_longer_stop_list() -> None:
    said = "What did they say about the researchers' computers? Don't tell me."
    assert terms(said) == ["research", "comput", "don't"]
    assert RANKING_STOP_WORDS < ANSWER_STOP_WORDS


def test_one_idf_formula_for_ranking_and_answers() -> None:
    idf = idf_weights([["a", "b"], ["a"], ["c"]])
    assert idf["a"] < idf["b"] == idf["c"]
    assert idf_weights(iter([["a", "b"], ["a"], ["c"]])) == idf  # any iterable of documents


def test_coverage_reads_index_tokens_and_ignores_answer_stop_words() -> None:
    tokens = index_tokens(["What does the zeppelin hangar of Quillport hold?"])[0]
    found = coverage(tokens, {"zeppelin", "hangar"})
    assert (found.unknown, found.total) == (2, 4)  # quillport and hold are unknown; "what", "does" are not counted


def test_missing_stemmer_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "Stemmer", None)
    text_terms._stemmer.cache_clear()
    text_terms.stem.cache_clear()
    try:
        for call in (lambda: index_tokens(["computers"]), lambda: terms("computers")):
            with pytest.raises(MissingStemmerError, match=r"PyStemmer.*pip install PyStemmer"):
                call()
    finally:
        monkeypatch.undo()
        text_terms._stemmer.cache_clear()
        text_terms.stem.cache_clear()
    assert terms("computers") == ["comput"]


@pytest.mark.slow
def test_missing_stemmer_stops_the_cli_with_the_install_command(tmp_path: Path) -> None:
    """A process without PyStemmer gets the install command, not answers built from unstemmed words."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The zeppelin hangar of Quillport was rebuilt after the flood of 1911.", "utf-8")
    script = _BLOCK_STEMMER + textwrap.dedent(
        f"""
        from rag.cli import main
        main(["ingest", {str(docs)!r}, "--index", {str(tmp_path / "index")!r}])
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode != 0
    assert "pip install PyStemmer" in done.stderr
    assert "Traceback" not in done.stderr
