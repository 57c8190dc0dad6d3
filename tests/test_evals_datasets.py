"""Eval set loading: the JSONL format and its errors, SQuAD, BEIR, PubMedQA, the shipped sets (fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import DatasetError, load_set
from evals.datasets import load_jsonl
from evals.metrics import normalize_answer

REPO = Path(__file__).resolve().parents[1]
SETS = REPO / "evals" / "sets"
FIXTURES = REPO / "tests" / "fixtures"


def _write(path: Path, *records: object) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Alpha is the first letter.")
    (folder / "sub" / "b.md").write_text("# B\n\nBeta comes second.")
    return folder


def test_jsonl_cases_inherit_the_corpus(tmp_path: Path, corpus: Path) -> None:
    s = load_jsonl(_write(
        tmp_path / "set.jsonl",
        {"question": "What is first?", "answers": ["Alpha"], "sources": ["a.txt"], "span": [0, 5], "corpus": "docs"},
        "",
        "# a comment line",
        {"id": "b", "question": "What is second?", "answers": ["Beta"], "sources": ["sub/b.md"]},
        {"question": "Who is third?", "unanswerable": True},
    ))
    assert s.corpus == (corpus,) and s.kind == "jsonl" and s.name == "set"
    assert [c.id for c in s.cases] == ["line1", "b", "line5"]
    assert s.cases[1].gold == {"sub/b.md": 1} and s.cases[0].span == (0, 5)
    assert s.cases[2].unanswerable and not s.cases[2].gold


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "x", "answers": ["y"', "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"answers": ["y"], "sources": ["a.txt"]}', '"question" is missing'),
        ('{"question": "x", "sources": ["nope.txt"]}', "'nope.txt' is not in the corpus"),
        ('{"question": "x", "answers": ["y"], "unanswerable": true}', "unanswerable"),
        ('{"question": "x"}', 'give "answers" or "sources"'),
        ('{"question": "x", "answers": "y", "sources": ["a.txt"], "span": [5, 2]}', "span"),
        ('{"question": "x", "sources": ["a.txt"], "span": [0, 999]}', "past the end of a.txt"),
        ('{"question": "x", "answers": ["y"], "colour": "red"}', "unknown field(s) colour"),
        ('{"question": "x", "answers": [""]}', "non-empty strings"),
        ('{"question": "x", "answers": ["y"], "corpus": "missing-folder"}', "corpus 'missing-folder' not found"),
    ],
)
def test_a_broken_line_is_reported_with_its_number(tmp_path: Path, corpus: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "set.jsonl", {"question": "ok?", "answers": ["Alpha"], "corpus": "docs"}, "", line)
    with pytest.raises(DatasetError) as err:
        load_jsonl(path)
    assert err.value.line == 3 and "set.jsonl:3: " in str(err.value)
    assert message in str(err.value)


def test_set_level_errors(tmp_path: Path, corpus: Path) -> None:
    with pytest.raises(DatasetError, match="first case must name its \"corpus\""):
        load_jsonl(_write(tmp_path / "a.jsonl", {"question": "x", "answers": ["y"]}))
    with pytest.raises(DatasetError, match="duplicate case id"):
        load_jsonl(_write(tmp_path / "b.jsonl", {"id": "1", "question": "x", "answers": ["y"], "corpus": "docs"},
                          {"id": "1", "question": "z", "answers": ["y"]}))
    with pytest.raises(DatasetError, match="no cases"):
        load_jsonl(_write(tmp_path / "c.jsonl", "# nothing"))
    with pytest.raises(DatasetError, match="no such eval set"):
        load_jsonl(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="cannot tell the format"):
        load_set(tmp_path / "set.csv", cache_dir=tmp_path)


def test_shared_paths_follow_the_data_dir(tmp_path: Path) -> None:
    """A corpus written as ../../shared/x resolves under data_dir (RAG_DATA_DIR) wherever the set file is."""
    shared = tmp_path / "elsewhere" / "data"
    (shared / "corpus").mkdir(parents=True)
    (shared / "corpus" / "doc.txt").write_text("Gamma.")
    (tmp_path / "repo" / "sets").mkdir(parents=True)
    path = _write(tmp_path / "repo" / "sets" / "s.jsonl",
                  {"question": "g?", "answers": ["Gamma"], "sources": ["doc.txt"],
                   "corpus": "../../shared/corpus/doc.txt"})
    with pytest.raises(DatasetError, match="RAG_DATA_DIR"):
        load_jsonl(path)
    assert load_jsonl(path, data_dir=shared).corpus == (shared / "corpus" / "doc.txt",)


@pytest.mark.needs_data("corpus/seed/000_7cc84e104f871c44.txt")
def test_the_seed_set(data_dir: Path) -> None:
    s = load_set("seed", cache_dir="unused", data_dir=data_dir)
    assert s.spec == str(SETS / "seed.jsonl")
    article = (data_dir / "corpus" / "seed" / "000_7cc84e104f871c44.txt").read_text(encoding="utf-8")
    answerable = [c for c in s.cases if not c.unanswerable]
    assert len(s.cases) >= 25 and len(s.cases) - len(answerable) >= 5
    for case in answerable:
        assert case.span is not None and case.gold == {"000_7cc84e104f871c44.txt": 1}
        start, end = case.span
        # the span holds the first reference answer; references are a few words, not sentences
        assert normalize_answer(article[start:end]) == normalize_answer(case.answers[0]), case.id
        assert all(len(a.split()) <= 6 for a in case.answers), case.id


def test_the_fixture_set() -> None:
    s = load_set(FIXTURES / "sets" / "fixture.jsonl", cache_dir="unused")
    article = (FIXTURES / "corpus" / "harrowmere-water.txt").read_text(encoding="utf-8")
    assert len(s.cases) == 23 and sum(c.unanswerable for c in s.cases) == 4
    for case in s.cases:
        if case.span is not None:
            assert case.gold == {"harrowmere-water.txt": 1}
            assert article[case.span[0] : case.span[1]] == case.answers[0], case.id


def test_the_docs_set(tmp_path: Path) -> None:
    s = load_set("docs", cache_dir="unused", data_dir=tmp_path / "no-data-folder")  # ships whole: no data needed
    assert s.spec == str(SETS / "docs.jsonl")
    assert len(s.cases) >= 15 and {p.name for p in s.corpus} == {"README.md", "docs"}
    assert any(c.unanswerable for c in s.cases)


def test_squad(tmp_path: Path) -> None:
    data = {"version": "2.0", "data": [
        {"title": "Tea / History", "paragraphs": [
            {"context": "Tea came from China. It reached Europe in 1610.", "qas": [
                {"id": "q1", "question": "Where from?", "answers": [{"text": "China", "answer_start": 14},
                                                                    {"text": "China", "answer_start": 14}]},
                {"id": "q2", "question": "When?", "answers": [{"text": "1610", "answer_start": 3}]},  # off
            ]},
            {"context": "Coffee is different.", "qas": [
                {"id": "q3", "question": "Price?", "answers": [], "is_impossible": True}]},
        ]},
        {"paragraphs": [{"document_id": 77, "context": "A whole paper.", "qas": []}]},
    ]}
    (tmp_path / "s.json").write_text(json.dumps(data))
    s = load_set(f"squad:{tmp_path / 's.json'}", cache_dir=tmp_path / "cache")
    folder = s.corpus[0]
    assert sorted(p.name for p in folder.iterdir()) == ["77-000.txt", "Tea_History-000.txt", "Tea_History-001.txt"]
    q1, q2, q3 = s.cases
    assert q1.answers == ("China",) and q1.gold == {"Tea_History-000.txt": 1} and q1.span == (14, 19)
    assert q2.span == (42, 46)  # recomputed from the text when the offset is wrong
    assert q3.unanswerable and not q3.gold
    before = (folder / "77-000.txt").stat().st_mtime_ns
    load_set(f"squad:{tmp_path / 's.json'}", cache_dir=tmp_path / "cache")
    assert (folder / "77-000.txt").stat().st_mtime_ns == before  # unchanged documents are not rewritten
    (tmp_path / "bad.json").write_text('{"data": [')
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_set(f"squad:{tmp_path / 'bad.json'}", cache_dir=tmp_path / "cache")


def test_beir(tmp_path: Path) -> None:
    root = tmp_path / "mini"
    (root / "qrels").mkdir(parents=True)
    _write(root / "corpus.jsonl", {"_id": "d1", "title": "One", "text": "first"}, {"_id": "d/2", "text": "second"})
    _write(root / "queries.jsonl", {"_id": "1", "text": "which first?"}, {"_id": "2", "text": "unjudged"})
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t2\n1\td/2\t0\n")
    s = load_set(f"beir:{root}", cache_dir=tmp_path / "cache")
    assert [c.id for c in s.cases] == ["1"] and s.cases[0].gold == {"d1.txt": 2} and not s.cases[0].answers
    assert (s.corpus[0] / "d1.txt").read_text() == "One\n\nfirst" and (s.corpus[0] / "d_2.txt").is_file()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td9\t1\n")
    with pytest.raises(DatasetError, match=r"test.tsv:2: corpus id 'd9'"):
        load_set(f"beir:{root}", cache_dir=tmp_path / "cache")
    _write(root / "corpus.jsonl", {"_id": "d1"}, "{oops")
    with pytest.raises(DatasetError, match=r"corpus.jsonl:2: not valid JSON"):
        load_set(f"beir:{root}", cache_dir=tmp_path / "cache")


@pytest.mark.needs_data("evaldata/pubmedqa-pqal/ori_pqal.json")
def test_pubmedqa(data_dir: Path, tmp_path: Path) -> None:
    s = load_set("pubmedqa", cache_dir=tmp_path, data_dir=data_dir)
    assert len(s.cases) == 1000 and len(list(s.corpus[0].glob("*.txt"))) == 1000
    case = s.cases[0]
    assert case.id == "21645374" and case.gold == {"21645374.txt": 1} and not case.extractive
    assert case.answers[0].startswith("Results depicted mitochondrial dynamics")
    assert "programmed cell death" in (s.corpus[0] / "21645374.txt").read_text().lower()


@pytest.mark.needs_data("evaldata/xquad-en/xquad.en.json")
def test_xquad_en(data_dir: Path, tmp_path: Path) -> None:
    s = load_set("xquad-en", cache_dir=tmp_path, data_dir=data_dir)
    assert len(s.cases) == 1190 and len(list(s.corpus[0].glob("*.txt"))) == 240
    assert all(c.span is not None and len(c.gold) == 1 for c in s.cases)


@pytest.mark.needs_data("evaldata/covid-qa-dev/covid-qa-dev.json")
def test_covid_qa_dev(data_dir: Path, tmp_path: Path) -> None:
    s = load_set("covid-qa-dev", cache_dir=tmp_path, data_dir=data_dir)
    assert len(s.cases) == 963 and len(list(s.corpus[0].glob("*.txt"))) == 66
    assert all(c.span is not None for c in s.cases)  # every answer is found in its paper
