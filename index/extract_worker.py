"""Read files in a child process that is killed when one takes too long.

A parser stuck in C (libxml2, a PDF content stream) cannot be interrupted by a signal
in its own process, so ``Extractor`` runs the loaders in one long-lived child and
waits at most ``timeout`` seconds per file. A file over the limit is reported as an
``IngestError`` and the child is killed; the next file starts a fresh one. Reusing
the child costs a pipe round trip per file (see docs/ingesting.md for measurements).

The child runs ``index.extract_worker.main`` with two pipe descriptors: it reads
``(path, max_bytes)`` requests and answers ``("ok", ExtractedText)`` or
``("error", reason)``, pickled, over two pipes. It ignores Ctrl-C (the parent
handles it and stops the child) and exits when the parent goes away.

A request ``(path, max_bytes, (chunk_size, chunk_overlap))`` also chunks the text
(``submit`` / ``result`` / ``span_groups``, used by ``index.prefetch``). Several such
requests may wait in the pipe; the child answers each in turn with

1. ``("started", t0)``: ``time.monotonic()`` when it began reading (one clock for
   every process of the host), so the time limit is counted from there;
2. ``("ok", ExtractedText, seconds)`` or ``("error", reason, seconds)``;
3. after "ok": ``("spans", rows)`` groups of ``(page, start, end, tokens)``, then
   ``("end", count)``, or ``("chunk-error", reason)`` if chunking raised (the parent
   then chunks the rest itself and meets the same error where it always did).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from index.errors import IngestError
from index.loaders import load_file
from index.models import ExtractedText

Chunking = tuple[int, int]  # (chunk_size, chunk_overlap)
SpanRow = tuple[int | None, int, int, int]  # (page, start, end, tokens) of one chunk
SPAN_GROUP = 256  # chunk spans per message

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
# Not ``-m index.extract_worker``: the package imports this module first, and runpy warns.
# ``-P``: the current folder does not come first on the path, so this very package is imported
# (an ``index`` package where rag runs, e.g. another checkout, would speak another protocol).
_CHILD = "import sys; from index.extract_worker import main; main(sys.argv)"


def timeout_reason(timeout: float) -> str:
    return f"took longer than {timeout:g} s to read; raise --file-timeout (RAG_FILE_TIMEOUT) or split it"


class Extractor:
    """``load_file`` with a time limit per file; ``timeout`` 0 reads in this process, unlimited.

    >>> with Extractor(timeout=120) as extractor:            # doctest: +SKIP
    ...     text = extractor.load(Path("big.html"), 50_000_000).text
    """

    def __init__(self, timeout: float) -> None:
        if timeout < 0:
            raise ValueError(f"timeout ({timeout}) must not be negative")
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None
        self.complete = False  # the last span_groups ran to the child's "end"

    def __enter__(self) -> Extractor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def load(self, path: Path, max_bytes: int) -> ExtractedText:
        """The file's text, or IngestError (its own, a time-out, or the reader dying)."""
        if self.timeout == 0:
            return load_file(path, max_bytes)
        send, recv = self._start()
        send.send_bytes(pickle.dumps((path, max_bytes), protocol=pickle.HIGHEST_PROTOCOL))
        if not recv.poll(self.timeout):
            self.close()
            raise IngestError(str(path), timeout_reason(self.timeout))
        kind, value = self._reply(recv, path)[:2]
        if kind != "ok":
            raise IngestError(str(path), str(value))
        assert isinstance(value, ExtractedText)
        return value

    def _reply(self, recv: Connection, path: Path) -> tuple[object, ...]:
        """The child's next message; IngestError naming ``path`` when the child died."""
        try:
            message: tuple[object, ...] = pickle.loads(recv.recv_bytes())
            return message
        except (EOFError, OSError):
            code = self.close()
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            raise IngestError(
                str(path), f"the reader process died on this file ({how}; out of memory?)"
            ) from None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while a child is up (``close`` and a time-out or a crash stop it)."""
        return self._proc is not None

    def submit(self, path: Path, max_bytes: int, chunking: Chunking) -> None:
        """Queue ``path`` to be read and chunked in the child (needs ``timeout`` > 0).

        Answers come in the order of the requests: ``result`` then ``span_groups`` for each.
        """
        if self.timeout == 0:
            raise ValueError("submit needs a child process: timeout must be more than 0")
        send, _ = self._start()
        send.send_bytes(pickle.dumps((path, max_bytes, chunking), protocol=pickle.HIGHEST_PROTOCOL))

    def result(self, path: Path) -> ExtractedText:
        """The text of the oldest submitted file, or IngestError as ``load`` gives it.

        The time limit counts from when the child began this file, not from ``submit``:
        files queued behind it wait without using their time.
        """
        recv = self._recv
        if recv is None:
            raise IngestError(str(path), "the reader process is gone; submit the file again")
        if not recv.poll(self.timeout):  # "started" comes as soon as the file before is answered
            self.close()
            raise IngestError(str(path), timeout_reason(self.timeout))
        _, began = self._reply(recv, path)
        assert isinstance(began, float)
        if not recv.poll(max(0.0, began + self.timeout - time.monotonic())):
            self.close()
            raise IngestError(str(path), timeout_reason(self.timeout))
        kind, value, seconds = self._reply(recv, path)
        assert isinstance(seconds, float)
        if seconds > self.timeout:  # done, but late: the same verdict as if it were still reading
            self.close()  # its chunks would follow; the next file starts a fresh child
            raise IngestError(str(path), timeout_reason(self.timeout))
        if kind != "ok":
            raise IngestError(str(path), str(value))
        assert isinstance(value, ExtractedText)
        return value

    def span_groups(self) -> Iterator[list[SpanRow]]:
        """The chunk spans of the file ``result`` just gave, a group at a time, as the child makes them.

        Ends after the last group; ends early (``complete`` False) when the child could not
        finish: it raised while chunking, or died.
        """
        self.complete = False
        recv = self._recv
        while recv is not None:
            try:
                kind, value = pickle.loads(recv.recv_bytes())
            except (EOFError, OSError):
                self.close()
                return
            if kind == "spans":
                yield value
            else:
                self.complete = kind == "end"
                return

    def _start(self) -> tuple[Connection, Connection]:
        if self._proc is not None and self._send is not None and self._recv is not None:
            return self._send, self._recv
        to_child, from_parent = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        env = dict(os.environ)
        # The child imports this very package, wherever it was imported from here.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-c", _CHILD, str(to_child), str(to_parent)],
                pass_fds=(to_child, to_parent), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
            )
        finally:
            os.close(to_child)
            os.close(to_parent)
        self._send = Connection(from_parent, readable=False)
        self._recv = Connection(from_child, writable=False)
        return self._send, self._recv

    def close(self) -> int | None:
        """Stop the child (if any); returns its exit status."""
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        self._send = self._recv = None
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        return proc.wait()


def _read(path: Path, max_bytes: int) -> tuple[str, object]:
    try:
        return ("ok", load_file(path, max_bytes))
    except IngestError as exc:
        return ("error", exc.reason)
    except OSError as exc:
        return ("error", f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a parser library failing on a malformed file: report it, go on
        return ("error", f"the {path.suffix or 'file'} reader failed on it ({type(exc).__name__}: {exc})")


def _send(replies: Connection, message: tuple[object, ...]) -> None:
    replies.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _chunk(replies: Connection, extracted: ExtractedText, chunking: Chunking) -> None:
    """Send the text's chunk spans in groups, then ("end", count); ("chunk-error", ...) if chunking raised."""
    from index.chunking import iter_chunk_pages

    group: list[SpanRow] = []
    count = 0
    try:
        for page, span in iter_chunk_pages(
            extracted.text, extracted.pages, chunk_size=chunking[0], chunk_overlap=chunking[1]
        ):
            group.append((page, span.start, span.end, span.tokens))
            count += 1
            if len(group) == SPAN_GROUP:
                _send(replies, ("spans", group))
                group = []
    except Exception as exc:  # the parent chunks again from here and meets it itself
        if group:
            _send(replies, ("spans", group))
        _send(replies, ("chunk-error", f"{type(exc).__name__}: {exc}"))
        return
    if group:
        _send(replies, ("spans", group))
    _send(replies, ("end", count))


def _serve(requests: Connection, replies: Connection) -> None:
    while True:
        try:
            request = pickle.loads(requests.recv_bytes())
        except (EOFError, OSError):
            return  # the parent is gone or closed the pipe
        try:
            if len(request) == 2:
                _send(replies, _read(*request))
                continue
            path, max_bytes, chunking = request
            began = time.monotonic()
            _send(replies, ("started", began))
            kind, value = _read(path, max_bytes)
            _send(replies, (kind, value, time.monotonic() - began))
            if kind == "ok":
                assert isinstance(value, ExtractedText)
                _chunk(replies, value, chunking)
        except OSError:
            return


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(Connection(int(argv[1]), writable=False), Connection(int(argv[2]), readable=False))
