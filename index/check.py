"""``rag check``: is every chunk's vector readable and findable, and does the lexical index match?

Four checks, each problem printed with the command that repairs it:

1. the vector index loads and every record's vector is readable (``index.probe``, in a
   child process, so a damaged file cannot crash this one);
2. the manifest and the chunks agree (``consistency_problems``: no pending records,
   no orphan or old-version chunks, the counts match);
3. each chunk is found by a query with its own text (all chunks up to ``sample``, a
   random sample of that many above it; the report says so);
4. the lexical (BM25) index holds exactly the store's documents, chunk ids and tokens.

It also lists the documents read by an older version of their loader (``stale``): the
index is sound, but the next ``rag ingest`` reads them again (``index.loader_versions``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from index.embedding import Embedder
from index.ingest import consistency_problems
from index.lexical import LexicalIndex
from index.loader_versions import StaleDocument, stale_documents
from index.models import chunk_id
from index.probe import ProbeResult, probe
from index.store import ChromaStore

SELF_QUERY_TOP_K = 10


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found; ``ok`` when there are no problems."""

    location: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    stale: tuple[StaleDocument, ...] = ()  # read by an older loader: sound, but not what ingest gives today

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def repair_command(self) -> str:
        return f"rag repair --index {self.location}"


def probe_store(store: ChromaStore) -> ProbeResult | None:
    """Probe the store's folder in a child process (None for a Chroma server)."""
    if store.chroma_path is None:
        return None
    return probe(store.chroma_path, [store.name, f"{store.name}-documents"])


def not_found_by_own_text(
    store: ChromaStore, embedder: Embedder, sample: int, seed: int = 0
) -> tuple[list[str], int, int]:
    """Chunks that a query with their own text does not return in the top ``SELF_QUERY_TOP_K``.

    Returns (problems, chunks tried, chunks in the index). A chunk whose exact text is
    shared with a chunk that was returned counts as found.
    """
    records = store.documents()
    ids = sorted(
        chunk_id(s, r.doc_hash, i) for s, r in records.items() if r.state == "complete" for i in range(r.chunks)
    )
    total = len(ids)
    if total > sample:
        ids = sorted(random.Random(seed).sample(ids, sample))
    chunks = store.get_chunks(ids)
    vectors = embedder.embed_documents([c.text for c in chunks])
    problems: list[str] = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        hits = store.query(vector, SELF_QUERY_TOP_K)
        if not any(h.chunk.id == chunk.id or h.chunk.text == chunk.text for h in hits):
            problems.append(
                f"chunk {chunk.position} of {chunk.display} is not found by a query with its own text"
            )
    return problems, len(chunks), total


def check(
    store: ChromaStore, embedder: Embedder, lexical: LexicalIndex | None, *, sample: int = 200
) -> CheckReport:
    """Run the checks of the module docstring."""
    problems: list[str] = []
    notes: list[str] = []
    result = probe_store(store)
    if result is not None:
        problems.extend(result.problems())
        notes.append(f"vectors read in a child process in {result.seconds:.1f}s")
        if problems:
            # A damaged vector segment is never read in this process: Chroma may crash on it
            # (a truncated HNSW file segfaulted `get` now and then). The other checks need
            # the vectors readable, so they run after `rag repair`.
            notes.append("the other checks run once the vectors are readable again (after rag repair)")
            return CheckReport(store.location, tuple(problems), tuple(notes))
    store.damage = []  # the probe found the vectors readable
    if not store.exists():
        return CheckReport(store.location, tuple(problems), ("the index is empty",))
    problems.extend(consistency_problems(store))
    stale = tuple(stale_documents(store.documents()))
    missed, tried, total = not_found_by_own_text(store, embedder, sample)
    problems.extend(missed)
    notes.append(
        f"self-query: all {total} chunks" if tried == total
        else f"self-query: a random sample of {tried} of {total} chunks"
    )
    if lexical is not None:
        problems.extend(lexical.problems(store))
    return CheckReport(store.location, tuple(problems), tuple(notes), stale)


def describe(report: CheckReport) -> Sequence[str]:
    """Lines for people: each problem, then the repair command, then the notes."""
    lines = [f"problem: {p}" for p in report.problems]
    if report.problems:
        lines.append(f"repair with: {report.repair_command}")
    else:
        lines.append(f"ok: {report.location} is consistent")
    lines.extend(f"stale: {s.describe()}" for s in report.stale)
    lines.extend(f"note: {n}" for n in report.notes)
    return lines
