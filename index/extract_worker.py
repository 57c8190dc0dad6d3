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
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from index.errors import IngestError
from index.loaders import load_file
from index.models import ExtractedText

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
# Not ``-m index.extract_worker``: the package imports this module first, and runpy warns.
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
        try:
            kind, value = pickle.loads(recv.recv_bytes())
        except (EOFError, OSError):
            code = self.close()
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            raise IngestError(
                str(path), f"the reader process died on this file ({how}; out of memory?)"
            ) from None
        if kind != "ok":
            raise IngestError(str(path), str(value))
        assert isinstance(value, ExtractedText)
        return value

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
                [sys.executable, "-c", _CHILD, str(to_child), str(to_parent)],
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


def _serve(requests: Connection, replies: Connection) -> None:
    while True:
        try:
            path, max_bytes = pickle.loads(requests.recv_bytes())
        except (EOFError, OSError):
            return  # the parent is gone or closed the pipe
        try:
            reply: tuple[str, object] = ("ok", load_file(path, max_bytes))
        except IngestError as exc:
            reply = ("error", exc.reason)
        except OSError as exc:
            reply = ("error", f"cannot read: {exc.strerror or exc}")
        except Exception as exc:  # a parser library failing on a malformed file: report it, go on
            reply = ("error", f"the {path.suffix or 'file'} reader failed on it ({type(exc).__name__}: {exc})")
        try:
            replies.send_bytes(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(Connection(int(argv[1]), writable=False), Connection(int(argv[2]), readable=False))
