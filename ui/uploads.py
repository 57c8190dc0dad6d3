"""Accept uploaded files: check type and size, unpack zips safely, keep them in one folder.

Uploads are copied out of Gradio's temporary cache into the uploads folder so the indexed
path (the document id) stays valid and a citation can open the file later. Names are
cleaned and every write is checked on its resolved path (``ui.upload_folder``). A file
uploaded again under the same name replaces the one the app saved before; a name taken by
anything else (a folder, a file the app did not write) gets a number: ``tapir (2).md``.

Everything unpacked from one zip counts against the upload limit, as it is decompressed:
a zip bomb stops at the limit. Each member that cannot be unpacked (damaged, encrypted,
too big, a link, a path leaving the archive) is reported by name and leaves nothing behind.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.views import SUPPORTED_SUFFIXES
from ui.safe_names import (
    clean_filename,
    folder_for_archive,
    is_zip_tool_leftover,
    member_parts,
    printable,
)
from ui.upload_folder import Readable, TooBig, UploadFolder

ALLOWED_SUFFIXES: tuple[str, ...] = (*tuple(sorted(SUPPORTED_SUFFIXES)), ".zip")
MAX_ZIP_MEMBERS = 2000
# Stored and deflated members decompress in bounded steps; bzip2 and lzma may expand a
# few kilobytes into hundreds of megabytes in one call, so they are refused.
SAFE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


@dataclass(frozen=True)
class Rejected:
    """An upload (or archive member) that was not accepted, and why (shown to the user)."""

    name: str
    reason: str


@dataclass(frozen=True)
class Saved:
    """An accepted upload: its name as uploaded and where it was saved."""

    name: str
    path: Path


@dataclass(frozen=True)
class Accepted:
    """Files ready to ingest, the uploads that were refused, the bytes written and decompressed.

    ``unpacked`` counts every byte decompressed from zips, kept or not: the work done.
    """

    saved: tuple[Saved, ...]
    rejected: tuple[Rejected, ...]
    written: int = 0
    unpacked: int = 0

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(s.path for s in self.saved)


@dataclass
class _Batch:
    """One call's running state: what it saved, refused and wrote, and the names it took."""

    allowance: int | None
    saved: list[Saved] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    written: int = 0
    unpacked: int = 0
    taken: set[Path] = field(default_factory=set)

    def left(self) -> int | None:
        return None if self.allowance is None else max(0, self.allowance - self.written)

    def room(self, limit_left: int, over_limit: str) -> tuple[int, str]:
        """Bytes the next file may take (``limit_left``, or less if the allowance is nearly spent), and
        the reason to give when it takes more."""
        left = self.left()
        if self.allowance is not None and left is not None and left < limit_left:
            return left, allowance_spent(self.allowance)
        return limit_left, over_limit


def allowed_types_text() -> str:
    return ", ".join(ALLOWED_SUFFIXES)


def _size(n: int) -> str:
    """Bytes for people: ``12 kB``, ``1.5 MB``, ``50 MB``."""
    if n < 1_000_000:
        return f"{n / 1e3:.0f} kB"
    return f"{n / 1e6:.1f} MB" if n < 10_000_000 else f"{n / 1e6:.0f} MB"


def allowance_spent(allowance: int) -> str:
    """The reason given when an upload does not fit in what is left of the session's allowance."""
    return (
        f"over this session's upload allowance ({_size(allowance)} in all); "
        "the server's RAG_MAX_SESSION_UPLOAD_MB setting raises it"
    )


def check_upload(path: Path, max_bytes: int) -> str | None:
    """Why ``path`` cannot be accepted, or None when it can (pure apart from stat)."""
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"file type {suffix or '(none)'} is not accepted; allowed: {allowed_types_text()}"
    size = path.stat().st_size
    if size > max_bytes:
        return f"{_size(size)} is over the upload limit of {_size(max_bytes)}"
    return None


def _member_target(info: zipfile.ZipInfo) -> tuple[str, ...] | str:
    """Where an archive member goes (cleaned path parts), or why it is not unpacked.

    Judged from the directory entry alone, before any byte is decompressed.
    """
    parts = member_parts(info.filename)
    if isinstance(parts, str):
        return parts
    if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
        return "a symbolic link; links are not unpacked"
    if info.flag_bits & 0x1:
        return "encrypted; unpack the archive yourself and upload the files"
    if info.compress_type not in SAFE_COMPRESSION:
        return f"compressed with method {info.compress_type}; re-create the zip with ordinary (deflate) compression"
    suffix = Path(parts[-1]).suffix
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"file type {suffix or '(none)'} is not supported"
    return parts


def _read_error(exc: BaseException) -> str:
    if isinstance(exc, zlib.error):
        return f"its compressed data is damaged ({exc}); the archive is corrupt"
    if isinstance(exc, EOFError):
        return "the archive ends in the middle of it; the upload is incomplete or corrupt"
    if isinstance(exc, zipfile.BadZipFile):
        return f"damaged in the archive ({exc})"
    return f"could not be unpacked ({exc})"


class _Counted:
    """A reader that counts the bytes it hands out (decompressed bytes, for a zip member)."""

    def __init__(self, raw: Readable) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        block = self.raw.read(size)
        self.count += len(block)
        return block


def _unpack_zip(archive: Path, name: str, folder: UploadFolder, max_bytes: int, batch: _Batch) -> None:
    """Save the supported members of ``archive`` (uploaded as ``name``) under a folder named after it.

    At most ``max_bytes`` are decompressed from the whole archive, counting the members
    that fail too, so the work is bounded by the limit whatever the archive claims.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        batch.rejected.append(Rejected(name, "not a valid zip archive"))
        return
    except UnicodeDecodeError:
        reason = "a member's name is marked as UTF-8 but is not valid UTF-8; re-create the zip with another tool"
        batch.rejected.append(Rejected(name, reason))
        return
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        batch.rejected.append(Rejected(name, f"the archive cannot be read ({exc})"))
        return
    top = folder_for_archive(name)
    over_limit = f"over the limit of {_size(max_bytes)} for all that one zip unpacks to (the upload limit)"
    used = 0  # decompressed bytes of this archive, kept or not
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir() and not is_zip_tool_leftover(m.filename)]
        if len(members) > MAX_ZIP_MEMBERS:
            batch.rejected.append(Rejected(name, f"{len(members)} files; at most {MAX_ZIP_MEMBERS} per zip"))
            return
        for i, info in enumerate(members):
            label = f"{name}/{printable(info.filename)}"
            parts = _member_target(info)
            if isinstance(parts, str):
                batch.rejected.append(Rejected(label, parts))
                continue
            room, over = batch.room(max_bytes - used, over_limit)
            if info.file_size > room:
                batch.rejected.append(Rejected(label, f"{_size(info.file_size)} unpacked: {over}"))
                continue
            reader: _Counted | None = None
            dest: Path | None = None
            try:
                with folder.lock:
                    dest = folder.claim((top, *parts), batch.taken)
                    with zf.open(info) as raw:
                        reader = _Counted(raw)
                        size = folder.save(dest, reader, room)
            except TooBig:
                batch.unpacked += reader.count if reader else 0
                batch.rejected.append(Rejected(label, f"expands as it is unpacked: {over}"))
                folder.prune(dest)
                if rest := len(members) - i - 1:
                    batch.rejected.append(Rejected(name, f"{rest} more file(s) not unpacked: {over}"))
                return
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
                batch.rejected.append(Rejected(label, _read_error(exc)))
                folder.prune(dest)
                used += reader.count if reader else 0
                batch.unpacked += reader.count if reader else 0
                continue
            batch.unpacked += reader.count
            used += size
            batch.written += size
            batch.saved.append(Saved(label, dest))


def _save_file(path: Path, name: str, folder: UploadFolder, max_bytes: int, batch: _Batch) -> None:
    room, over = batch.room(max_bytes, f"over the upload limit of {_size(max_bytes)}")
    if path.stat().st_size > room:
        batch.rejected.append(Rejected(name, over))
        return
    try:
        with folder.lock, path.open("rb") as src:
            dest = folder.claim((clean_filename(name),), batch.taken)
            written = folder.save(dest, src, room)
    except TooBig:
        batch.rejected.append(Rejected(name, f"{over} (it grew while being saved)"))
        return
    except OSError as exc:
        batch.rejected.append(Rejected(name, f"could not be saved ({exc})"))
        return
    batch.written += written
    batch.saved.append(Saved(name, dest))


def accept_uploads(
    files: Sequence[str | Path], uploads: UploadFolder | Path, max_bytes: int, allowance: int | None = None
) -> Accepted:
    """Check each upload and save the good ones in ``uploads`` (a zip is unpacked into a folder).

    ``max_bytes`` limits each upload (and all that one zip unpacks to); ``allowance``, when
    given, limits the bytes written by this whole call.
    """
    folder = uploads if isinstance(uploads, UploadFolder) else UploadFolder(uploads)
    batch = _Batch(allowance)
    for raw in files:
        path = Path(raw)
        name = printable(path.name)  # Gradio keeps the original file name as the last path component
        if not path.is_file():
            batch.rejected.append(Rejected(name, "the upload did not arrive; try again"))
            continue
        problem = check_upload(path, max_bytes)
        if problem:
            batch.rejected.append(Rejected(name, problem))
        elif path.suffix.lower() == ".zip":
            _unpack_zip(path, name, folder, max_bytes, batch)
        else:
            _save_file(path, name, folder, max_bytes, batch)
    return Accepted(tuple(batch.saved), tuple(batch.rejected), batch.written, batch.unpacked)
