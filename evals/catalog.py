"""The built-in eval sets: what each is, where it comes from, its licence and size, and where it lives.

Two sets ship with the project (``evals/sets/``): ``docs`` (questions about the project's own
README and docs, so it runs from a plain clone) and ``seed`` (questions about the seed article,
which is not public and lives in the data folder only). The public sets are not copied into the
repository: they live in the data folder (``RAG_DATA_DIR``) under ``evaldata/``, and
``rag data fetch NAME`` downloads them from a pinned commit of their upstream repository,
checking the file's sha256 (``evals.fetch``).

>>> BUILTIN["xquad-en"].files[0].path
'evaldata/xquad-en/xquad.en.json'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evals.cases import DatasetError

SETS_DIR = Path(__file__).resolve().parent / "sets"


@dataclass(frozen=True)
class Download:
    """A file published at a stable address: ``url_path`` under the base URL (setting ``data_url``)."""

    url_path: str
    sha256: str


@dataclass(frozen=True)
class DataFile:
    """A file a set needs, relative to the data folder, and how to get it.

    ``download`` is the upstream file; when ``derive`` names a rule (``evals.fetch.DERIVATIONS``)
    the file is made from the download by that rule and ``sha256`` is the result's.
    """

    path: str
    sha256: str
    download: Download | None = None
    derive: str = ""


@dataclass(frozen=True)
class BuiltinSet:
    """One built-in set: ``spec`` is how ``load_set`` reads it, with ``{data}`` standing for the data folder."""

    name: str
    spec: str
    source: str
    license: str
    size: str
    files: tuple[DataFile, ...] = ()  # what must be in the data folder; () for a set that ships whole
    how_to_get: str = ""  # for files with no download


_XQUAD = "deepmind/xquad/60cac411649156efb6aab9dd4c9cde787a2c0345/xquad.en.json"
_COVID = "deepset-ai/COVID-QA/fb2eb5e249618457e5359806601086c635c8eb8f/data/question-answering/200423_covidQA.json"
_PUBMEDQA = "pubmedqa/pubmedqa/1cbae8e92f72f20c8d3747cbb3bf5bc53554d997/data/ori_pqal.json"

BUILTIN: dict[str, BuiltinSet] = {
    s.name: s
    for s in (
        BuiltinSet(
            "docs", str(SETS_DIR / "docs.jsonl"),
            "this project: questions about its README.md and docs/ (evals/sets/docs.jsonl)",
            "MIT (this project)", "22 questions over the project's own docs",
        ),
        BuiltinSet(
            "seed", str(SETS_DIR / "seed.jsonl"),
            "the article the project started from (evals/sets/seed.jsonl asks about it)",
            "not public; not in the repository", "29 questions over one article",
            (DataFile("corpus/seed/000_7cc84e104f871c44.txt",
                      "f2039974ec878c6f089bd157233c4abedf2bb58e4210f74b80c52af62c61e52b"),),
            how_to_get="it is not published anywhere: set RAG_DATA_DIR to the project's data folder",
        ),
        BuiltinSet(
            "xquad-en", "squad:{data}/evaldata/xquad-en/xquad.en.json",
            "github.com/deepmind/xquad at 60cac41 (xquad.en.json: the SQuAD v1.1 dev subset, English)",
            "CC BY-SA 4.0", "1,190 questions over 240 Wikipedia paragraphs",
            (DataFile("evaldata/xquad-en/xquad.en.json",
                      "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
                      Download(_XQUAD, "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29")),),
        ),
        BuiltinSet(
            "covid-qa-dev", "squad:{data}/evaldata/covid-qa-dev/covid-qa-dev.json",
            "derived from github.com/deepset-ai/COVID-QA at fb2eb5e (200423_covidQA.json): of its 98 papers "
            "sorted by document_id as text, all but every third (the rest is a held-out test part)",
            "Apache-2.0 (the papers' own licences vary)", "963 questions over 66 whole papers",
            (DataFile("evaldata/covid-qa-dev/covid-qa-dev.json",
                      "736c6f0212c573f77b27e67e847004991d2a4d400407917290e629cf377449b4",
                      Download(_COVID, "ab310b4e39f726e087c8fa3d1787c73771dacddc584977204ebe3cc889ee1264"),
                      derive="covid-qa-dev"),),
        ),
        BuiltinSet(
            "pubmedqa", "pubmedqa:{data}/evaldata/pubmedqa-pqal/ori_pqal.json",
            "github.com/pubmedqa/pubmedqa at 1cbae8e (data/ori_pqal.json: PQA-L, expert-labelled)",
            "MIT", "1,000 questions over 1,000 PubMed abstracts",
            (DataFile("evaldata/pubmedqa-pqal/ori_pqal.json",
                      "8b3276be8942ebbd77f3ddcda12c1749bf0e490045a736fd8438ee40cf37a41d",
                      Download(_PUBMEDQA, "8b3276be8942ebbd77f3ddcda12c1749bf0e490045a736fd8438ee40cf37a41d")),),
        ),
    )
}


def builtin(name: str) -> BuiltinSet:
    """The built-in set called ``name``; an unknown name is an error listing the known ones."""
    try:
        return BUILTIN[name]
    except KeyError:
        raise DatasetError(f"no built-in set {name!r}; the built-in sets are {', '.join(BUILTIN)}") from None


def missing_file(entry: BuiltinSet, data_dir: str | Path) -> DataFile | None:
    """The first file of ``entry`` that is not in the data folder, or None when the set is present.

    A set that ships whole (``docs``) needs only its own file, and the checkout its corpus is in.
    """
    if not entry.files:
        shipped = Path(entry.spec)
        return None if shipped.is_file() else DataFile(str(shipped), "")
    return next((f for f in entry.files if not (Path(data_dir) / f.path).is_file()), None)


def how_to_get(entry: BuiltinSet) -> str:
    """What a user does to get a missing set, in a few words."""
    if any(f.download for f in entry.files):
        return f"run `rag data fetch {entry.name}`, or set RAG_DATA_DIR to the data folder that holds it"
    return entry.how_to_get or "set RAG_DATA_DIR to the data folder that holds it"


def spec_for(name: str, data_dir: str | Path) -> str:
    """The spec ``load_set`` reads for the built-in set ``name``; a missing file is one clear error."""
    entry = builtin(name)
    gone = missing_file(entry, data_dir)
    if gone is not None:
        where = Path(data_dir) / gone.path
        raise DatasetError(f"the {name} set needs {where}, which is missing: {how_to_get(entry)}")
    return entry.spec.replace("{data}", str(Path(data_dir)))


def table(data_dir: str | Path) -> str:
    """Every built-in set with its source, licence, size and whether the data folder has it (``rag eval --list``)."""
    rows = []
    for entry in BUILTIN.values():
        gone = missing_file(entry, data_dir)
        present = "yes" if gone is None else "no"
        rows.append((entry.name, present, entry.size, entry.license, entry.source))
    head = ("set", "present", "size", "licence", "source")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in (head, *rows)]
    lines.append(f"data folder: {data_dir} (RAG_DATA_DIR); get a missing public set with `rag data fetch NAME`")
    return "\n".join(lines)
