"""``rag check``: is every chunk's vector readable and findable, and does the lexical index match?

Four checks, each problem printed with the command that repairs it:

1. the vector index loads and every record's vector is readable (``index.probe``, in a
   child process, so a damaged file cannot crash this one);
2. the manifest and the chunks agree (``consistency_problems``: no pending records,
   no orphan or old-version chunks, the counts match);
3. each chunk is found by a query with its own text (all chunks up to ``sample``, a
   random sample of that many above it; the report says so); a chunk hidden behind many
   copies of another text, with its vector stored right, is a note, not a problem;
4. the lexical (BM25) index holds exactly the store's documents, chunk ids and tokens.

It also lists the documents read by an older version of their loader (``stale``): the
index is sound, but the next ``rag ingest`` reads them again (``index.loader_versions``).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from index.embedding import Embedder
from index.ingest import consistency_problems
from index.lexical import LexicalIndex
from index.loader_versions import StaleDocument, stale_documents
from index.models import Chunk, Hit, chunk_id
from index.probe import ProbeResult, probe
from index.store import ChromaStore

SELF_QUERY_TOP_K = 10
SAME_VECTOR = 0.99  # cosine of a stored vector and a fresh one of the same text (batch rounding aside)


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


@dataclass(frozen=True)
class SelfQuery:
    """What the self-query found: real problems, chunks crowded out by copies, how many tried."""

    problems: tuple[str, ...]
    crowded: tuple[str, ...]  # chunks stored right but hidden from dense search by copies of one text
    tried: int
    total: int


def crowded_out(hits: Sequence[Hit], stored: Sequence[float] | None, fresh: Sequence[float]) -> bool:
    """Is a chunk that its own query missed hidden behind copies of one other text?

    Chroma's HNSW graph fills the neighbour lists of many equal vectors with each other (at
    distance 0), so a search that reaches them can stop there. That is the case when the
    chunk's stored vector is its text's vector (nothing to repair) and at least half of the
    top hits are copies of one other text.
    """
    if stored is None or len(hits) < SELF_QUERY_TOP_K:
        return False
    copies = Counter(h.chunk.text for h in hits).most_common(1)[0][1]
    return 2 * copies >= len(hits) and _cosine(stored, fresh) >= SAME_VECTOR


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def not_found_by_own_text(store: ChromaStore, embedder: Embedder, sample: int, seed: int = 0) -> SelfQuery:
    """Chunks that a query with their own text does not return in the top ``SELF_QUERY_TOP_K``.

    A chunk whose exact text is shared with a chunk that was returned counts as found; one
    ``crowded_out`` by copies of another text is listed apart (a limit of the vector index,
    not damage: ``rag repair`` cannot change it, and the lexical index still finds it).
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
    missed: list[tuple[Chunk, list[float], list[Hit]]] = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        hits = store.query(vector, SELF_QUERY_TOP_K)
        if not any(h.chunk.id == chunk.id or h.chunk.text == chunk.text for h in hits):
            missed.append((chunk, vector, hits))
    stored = store.vectors_of([c.id for c, _, _ in missed])
    problems: list[str] = []
    crowded: list[str] = []
    for chunk, vector, hits in missed:
        where = f"chunk {chunk.position} of {chunk.display}"
        if crowded_out(hits, stored.get(chunk.id), vector):
            crowded.append(where)
        else:
            problems.append(f"{where} is not found by a query with its own text")
    return SelfQuery(tuple(problems), tuple(crowded), len(chunks), total)


def crowded_note(crowded: Sequence[str]) -> str:
    """One note for the chunks dense search cannot reach past copies of another text."""
    named = ", ".join(crowded[:3]) + (f" and {len(crowded) - 3} more" if len(crowded) > 3 else "")
    return (
        f"dense search does not reach {len(crowded)} chunk(s) past many copies of one other text ({named}): "
        "their vectors are stored right, the lexical half of hybrid retrieval finds them, nothing to repair"
    )


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
    found = not_found_by_own_text(store, embedder, sample)
    problems.extend(found.problems)
    notes.append(
        f"self-query: all {found.total} chunks" if found.tried == found.total
        else f"self-query: a random sample of {found.tried} of {found.total} chunks"
    )
    if found.crowded:
        notes.append(crowded_note(found.crowded))
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
