"""Read and chunk the next files in reader processes while this process embeds.

``ReadAhead`` walks the discovered files in order. It hashes each one here (cheap) and
asks ``unchanged(found, doc_hash)``; a file to (re)ingest is queued on one of ``workers``
reader processes (``index.extract_worker``, the shortest queue first, at most ``depth``
files waiting in all), which reads and chunks it and sends the text and the chunk spans
back. So while the ingest loop embeds one batch, the readers work on the files after it.

Items come out in the files' order, whatever order the readers finish in, so the ingest
loop, its crash-safety protocol (``index.batches``) and its report are those of reading
one file after another. The time limit per file counts from when its reader began it; a
file over the limit, or one its reader dies on, fails alone: the reader is restarted and
the files queued behind it are sent again. A reader that cannot finish chunking leaves
the rest to this process, which chunks the same text the same way. With ``timeout`` 0
every file is read here, one after another, without a limit, as ``Extractor(0)`` does.

>>> with ReadAhead(files, unchanged, max_bytes=50_000_000, timeout=120,
...                chunking=(224, 64)) as ahead:                          # doctest: +SKIP
...     for item in ahead:
...         if item.extracted is not None:
...             spans = list(ahead.spans(item))
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import TracebackType

from index.chunking import ChunkSpan, iter_chunk_pages
from index.discovery import FoundFile
from index.errors import IngestError
from index.extract_worker import Chunking, Extractor
from index.hashing import sha256_file
from index.models import ExtractedText

UnchangedFn = Callable[[FoundFile, str], bool]
"""``unchanged(found, doc_hash)``: True when the index already holds this version (not read)."""


def default_workers(cpus: int | None = None) -> int:
    """Reader processes when none are asked for: one per two cores, 1 to 4 (the embedder uses the rest)."""
    count = os.cpu_count() if cpus is None else cpus
    return max(1, min(4, (count or 1) // 2))


@dataclass(frozen=True)
class Prepared:
    """One file, ready for the ingest loop: unchanged, failed (``failure``), or read (``extracted``)."""

    found: FoundFile
    doc_hash: str
    unchanged: bool = False
    extracted: ExtractedText | None = None
    failure: str | None = None


@dataclass
class _Reader:
    process: Extractor
    queue: deque[FoundFile] = field(default_factory=deque)  # sent, not yet answered, in order


@dataclass
class _Ahead:
    found: FoundFile
    doc_hash: str
    reader: _Reader | None = None  # None: resolved already (``done``)
    done: Prepared | None = None


class ReadAhead:
    """The files as ``Prepared`` items, in order, read ``depth`` files ahead; see the module docstring."""

    def __init__(
        self,
        files: Sequence[FoundFile],
        unchanged: UnchangedFn,
        *,
        max_bytes: int,
        timeout: float,
        chunking: Chunking,
        workers: int = 0,
        depth: int = 0,
    ) -> None:
        if timeout < 0:
            raise ValueError(f"timeout ({timeout}) must not be negative")
        if workers < 0 or depth < 0:
            raise ValueError(f"workers ({workers}) and depth ({depth}) must be 0 (automatic) or more")
        self._files = iter(files)
        self._unchanged = unchanged
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._chunking = chunking
        count = workers or default_workers()
        self._readers = [_Reader(Extractor(timeout)) for _ in range(count if timeout > 0 else 0)]
        self._depth = depth or 4 * count
        self._ahead: deque[_Ahead] = deque()
        self._streaming: _Reader | None = None  # the reader whose spans the current item is

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def in_flight(self) -> int:
        """Files sent to the reader processes and not yet handed out: the read-ahead."""
        return sum(len(r.queue) for r in self._readers)

    @property
    def reader_pids(self) -> tuple[int, ...]:
        """Process ids of the running readers (a stuck one can be found with ``ps``)."""
        return tuple(r.process.pid for r in self._readers if r.process.pid is not None)

    def close(self) -> None:
        """Stop every reader process."""
        for reader in self._readers:
            reader.process.close()
            reader.queue.clear()

    def __iter__(self) -> Iterator[Prepared]:
        while True:
            self._fill()
            if not self._ahead:
                return
            prepared = self._take(self._ahead.popleft())
            self._fill()  # the next file's turn: its reader works while the caller writes this one
            yield prepared
            self._drain()  # spans the caller did not ask for

    def spans(self, item: Prepared) -> Iterator[tuple[int | None, ChunkSpan]]:
        """The chunk spans of ``item`` (the one just yielded), as ``iter_chunk_pages`` gives them."""
        extracted = item.extracted
        if extracted is None:
            raise ValueError(f"{item.found.display} was not read: it has no chunks")
        got = 0
        reader = self._streaming
        if reader is not None:
            for group in reader.process.span_groups():
                for page, start, end, tokens in group:
                    yield page, ChunkSpan(start, end, tokens)
                    got += 1
            self._streaming = None
            self._resend(reader)
            if reader.process.complete:
                return
        size, overlap = self._chunking
        rest = iter_chunk_pages(extracted.text, extracted.pages, chunk_size=size, chunk_overlap=overlap)
        yield from islice(rest, got, None)

    # -- inside ------------------------------------------------------------------------

    def _fill(self) -> None:
        """Hash and queue files until ``depth`` are ahead of the one being written."""
        while len(self._ahead) < self._depth:
            found = next(self._files, None)
            if found is None:
                return
            self._ahead.append(self._queue(found))

    def _queue(self, found: FoundFile) -> _Ahead:
        try:
            doc_hash = sha256_file(found.path) if found.path.is_file() else ""
        except OSError as exc:
            return _Ahead(found, "", done=Prepared(found, "", failure=f"cannot read: {exc.strerror or exc}"))
        if self._unchanged(found, doc_hash):
            return _Ahead(found, doc_hash, done=Prepared(found, doc_hash, unchanged=True))
        if not self._readers:
            return _Ahead(found, doc_hash)  # read here when its turn comes
        reader = min(self._readers, key=lambda r: len(r.queue))
        reader.process.submit(found.path, self._max_bytes, self._chunking)
        reader.queue.append(found)
        return _Ahead(found, doc_hash, reader=reader)

    def _take(self, ahead: _Ahead) -> Prepared:
        found, doc_hash = ahead.found, ahead.doc_hash
        if ahead.done is not None:
            return ahead.done
        reader = ahead.reader
        try:
            if reader is None:
                return Prepared(found, doc_hash, extracted=self._read_here(found.path))
            assert reader.queue and reader.queue[0] is found, "answers come in the order of the requests"
            extracted = reader.process.result(found.path)
            reader.queue.popleft()
            self._streaming = reader
            return Prepared(found, doc_hash, extracted=extracted)
        except IngestError as exc:
            if reader is not None:
                reader.queue.popleft()
                self._resend(reader)
            return Prepared(found, doc_hash, failure=exc.reason)
        except OSError as exc:
            return Prepared(found, doc_hash, failure=f"cannot read: {exc.strerror or exc}")

    def _read_here(self, path: Path) -> ExtractedText:
        with Extractor(0) as here:
            return here.load(path, self._max_bytes)

    def _resend(self, reader: _Reader) -> None:
        """After a reader was stopped (time-out, crash), send what was queued on it to a fresh one."""
        if reader.process.running:
            return
        for found in reader.queue:
            reader.process.submit(found.path, self._max_bytes, self._chunking)

    def _drain(self) -> None:
        """Read past what is left of the current item's spans, so the reader's next answer comes next."""
        reader, self._streaming = self._streaming, None
        if reader is not None:
            for _ in reader.process.span_groups():
                pass
            self._resend(reader)
