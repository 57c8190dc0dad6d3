"""One writer per index folder: an inter-process lock file that says who holds it.

Every command that changes an index (ingest, delete, reset, repair, the UI's uploads)
takes ``<index>/rag-writer.lock`` with ``fcntl.flock`` before writing. Two Chroma
clients writing one folder each keep their own vector index in memory and the last
one to save overwrites the other's vectors, so a second writer is refused at once
with a message naming the holder (pid, host, command, start time). Readers never
touch the lock. The kernel drops a flock when its process dies, so a killed writer
never leaves a stale lock behind; the file's text is only there to be read by people
and by the refusal message.

The lock is reentrant within one ``WriterLock`` (an ingest inside an Assistant call
that already holds it), and a ``threading.Lock`` serialises threads of one process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from index.errors import IndexBusyError, StoreError

LOCK_FILE = "rag-writer.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the writer lock of an index folder."""

    writer: str  # unique per acquisition: also stamped on "pending" manifest records
    pid: int
    host: str
    operation: str
    command: str
    started: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid} on {self.host}, `{self.command}` ({self.operation}), started {when}"


def new_writer_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def writer_is_gone(writer: str) -> bool:
    """True when the process named by a writer id has certainly ended (same host, pid gone).

    An empty id is a record written before writer ids existed. A writer on another host
    cannot be checked from here: it counts as alive.
    """
    if not writer:
        return True
    host, _, rest = writer.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def writer_active(folder: Path) -> bool:
    """True when another process holds the folder's writer lock (tested without waiting)."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False


def busy_error(folder: Path) -> IndexBusyError:
    """The error for a write refused because another process holds ``folder``'s writer lock."""
    holder = read_holder(folder)
    who = holder.describe() if holder else "another process"
    stop = f" (kill {holder.pid})" if holder else ""
    return IndexBusyError(
        f"another writer is using the index {folder}: {who}. Wait for it to finish, "
        f"or stop it{stop}, then run this again."
    )


def read_holder(folder: Path) -> Holder | None:
    """The holder recorded in the lock file, or None when it is empty or unreadable."""
    try:
        data = json.loads((folder / LOCK_FILE).read_text(encoding="utf-8"))
        return Holder(**data)
    except (OSError, ValueError, TypeError):
        return None


class WriterLock:
    """The writer lock of one index folder.

    >>> lock = WriterLock(Path("my-index"))                  # doctest: +SKIP
    >>> with lock.hold("ingest"):                              # doctest: +SKIP
    ...     ...  # the only writer of my-index until the block ends
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None
        self._depth = 0
        self._threads = threading.RLock()
        self.holder: Holder | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def depth(self) -> int:
        """How many nested ``hold`` blocks of this process are open (0 when not held)."""
        return self._depth if self._fd is not None else 0

    def try_acquire(self, operation: str) -> bool:
        """Take the lock if it is free; False (never waiting) when another process holds it."""
        try:
            self._acquire(operation, wait_for_threads=False)
        except (IndexBusyError, StoreError):
            return False
        return True

    @contextmanager
    def hold(self, operation: str) -> Iterator[Holder]:
        """Hold the lock for the block; IndexBusyError at once when another writer has it."""
        self._acquire(operation)
        try:
            assert self.holder is not None
            yield self.holder
        finally:
            self.release()

    def _acquire(self, operation: str, *, wait_for_threads: bool = True) -> None:
        # Threads of this process queue on the RLock (held until release); the owning
        # thread may nest. Only other processes are refused.
        if not self._threads.acquire(blocking=wait_for_threads):
            raise IndexBusyError(f"another thread of this process is writing to {self.folder}")
        if self._fd is not None:
            self._depth += 1
            return
        try:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise StoreError(f"cannot lock the index folder {self.folder}: {exc}") from exc
                raise busy_error(self.folder) from None
        except BaseException:
            self._threads.release()
            raise
        self.holder = Holder(
            writer=new_writer_id(), pid=os.getpid(), host=socket.gethostname(), operation=operation,
            command=shlex.join(sys.argv) if sys.argv and sys.argv[0] else sys.executable,
            started=time.time(),
        )
        self._write_holder(fd, self.holder)
        self._fd, self._depth = fd, 1

    def _open(self) -> int:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise StoreError(f"cannot open the lock file in {self.folder}: {exc}") from exc
            raise StoreError(
                f"the index folder {self.folder} is read-only ({exc.strerror}): reading works, but "
                "ingest, delete, reset and repair need write access to it"
            ) from exc

    @staticmethod
    def _write_holder(fd: int, holder: Holder) -> None:
        data = json.dumps(asdict(holder)).encode()
        # the holder's details only inform the message of a refused writer: a full disk must
        # not stop the lock itself, which is the flock, not this text
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, None
            self.holder = None
            with suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._threads.release()
