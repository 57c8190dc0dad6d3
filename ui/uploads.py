"""Accept uploaded files: check type and size, unpack zips safely, keep them in one folder.

Uploads are copied out of Gradio's temporary cache into ``uploads_dir`` so the indexed
path (the document id) stays valid and a citation can open the file later. A file
uploaded again under the same name replaces the earlier one (and its chunks).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rag.views import SUPPORTED_SUFFIXES

ALLOWED_SUFFIXES: tuple[str, ...] = (*tuple(sorted(SUPPORTED_SUFFIXES)), ".zip")
MAX_ZIP_MEMBERS = 2000


@dataclass(frozen=True)
class Rejected:
    """An upload that was not accepted, and why (shown to the user)."""

    name: str
    reason: str


@dataclass(frozen=True)
class Accepted:
    """Files ready to ingest, and the uploads that were refused."""

    paths: tuple[Path, ...]
    rejected: tuple[Rejected, ...]


def allowed_types_text() -> str:
    return ", ".join(ALLOWED_SUFFIXES)


def _display_name(path: Path) -> str:
    # Gradio keeps the original file name as the last path component.
    return path.name


def check_upload(path: Path, max_bytes: int) -> str | None:
    """Why ``path`` cannot be accepted, or None when it can (pure apart from stat)."""
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"file type {suffix or '(none)'} is not accepted; allowed: {allowed_types_text()}"
    size = path.stat().st_size
    if size > max_bytes:
        return f"{size / 1e6:.1f} MB is over the upload limit of {max_bytes / 1e6:.0f} MB"
    return None


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path, or None when it would escape the target folder."""
    member = PurePosixPath(name.replace("\\", "/"))
    if member.is_absolute() or ".." in member.parts or not member.parts:
        return None
    if any(part.startswith(".") or part == "__MACOSX" for part in member.parts):
        return None  # hidden files and macOS resource forks are not documents
    return member


def unpack_zip(archive: Path, target: Path, max_bytes: int) -> tuple[list[Path], list[Rejected]]:
    """Extract the supported files of ``archive`` under ``target`` (no path escapes, sizes capped).

    Each member is limited to ``max_bytes`` and the whole archive to ten times that,
    counting the bytes actually written, so a zip bomb stops early.
    """
    extracted: list[Path] = []
    rejected: list[Rejected] = []
    budget = 10 * max_bytes
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        return [], [Rejected(archive.name, "not a valid zip archive")]
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            return [], [Rejected(archive.name, f"{len(members)} files; at most {MAX_ZIP_MEMBERS} per zip")]
        for info in members:
            rel = _safe_member(info.filename)
            label = f"{archive.name}/{info.filename}"
            if rel is None:
                continue
            if rel.suffix.lower() not in SUPPORTED_SUFFIXES:
                rejected.append(Rejected(label, f"file type {rel.suffix or '(none)'} is not supported"))
                continue
            if info.file_size > max_bytes:
                size = f"{info.file_size / 1e6:.1f} MB is over the limit of {max_bytes / 1e6:.0f} MB"
                rejected.append(Rejected(label, size))
                continue
            dest = target.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, dest.open("wb") as out:
                while block := src.read(1 << 16):
                    written += len(block)
                    if written > max_bytes or written > budget:
                        break
                    out.write(block)
            budget -= written
            if written > max_bytes or budget < 0:
                dest.unlink()
                rejected.append(Rejected(label, "expands past the size limit"))
                if budget < 0:
                    break
                continue
            extracted.append(dest)
    return extracted, rejected


def accept_uploads(files: Sequence[str | Path], uploads_dir: Path, max_bytes: int) -> Accepted:
    """Check each upload, copy the good ones into ``uploads_dir`` (zips unpacked into a folder)."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rejected: list[Rejected] = []
    for raw in files:
        path = Path(raw)
        name = _display_name(path)
        if not path.is_file():
            rejected.append(Rejected(name, "the upload did not arrive; try again"))
            continue
        problem = check_upload(path, max_bytes)
        if problem:
            rejected.append(Rejected(name, problem))
            continue
        if path.suffix.lower() == ".zip":
            folder = uploads_dir / path.stem
            got, bad = unpack_zip(path, folder, max_bytes)
            paths.extend(got)
            rejected.extend(bad)
            continue
        dest = uploads_dir / name
        shutil.copyfile(path, dest)
        paths.append(dest)
    return Accepted(tuple(paths), tuple(rejected))
