"""Hostile uploads, written byte by byte by the tests: archives that try to escape, break or blow up.

Each builder writes one file into ``folder`` and returns its path; the module also
snapshots a folder tree so a test can say that nothing outside the uploads folder changed.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

VICTIM_TEXT = "# Notes\n\nThe original notes that no upload may touch.\n"
TEXT = "# {title}\n\nThe {title} note says the blue heron nests by the {title} pond.\n"


def dots_zip(folder: Path, name: str = "...zip", member: str = "victim/notes.md") -> Path:
    """A zip whose name has no stem but dots: ``...zip`` (``Path.stem`` is ``..``) or ``..zip``."""
    path = folder / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, "# Tampered\n\nThis text came from the archive named with dots.\n")
    return path


def escaping_zip(folder: Path) -> Path:
    """Members that climb out with ``..``, an absolute member, a symbolic link, and one good file."""
    path = folder / "escaping.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../../victim/notes.md", "tampered by ..")
        zf.writestr("docs/../../escape.md", "tampered by a .. in the middle")
        zf.writestr("/tmp/absolute-escape.md", "tampered by an absolute name")
        link = zipfile.ZipInfo("link.md")
        link.create_system = 3  # unix, so the mode bits below say "symbolic link"
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("good/kept.md", TEXT.format(title="Kept"))
    return path


def bad_crc_zip(folder: Path) -> Path:
    """A stored member whose bytes no longer match its CRC, beside a sound member."""
    path = folder / "bad-crc.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("broken.md", "# Broken\n\nsome text that will be altered\n")
        zf.writestr("sound.md", TEXT.format(title="Sound"))
    data = path.read_bytes()
    assert data.count(b"some text") == 1
    path.write_bytes(data.replace(b"some text", b"SOME text"))
    return path


def bad_deflate_zip(folder: Path) -> Path:
    """A deflated member whose compressed data starts with an invalid block type."""
    path = folder / "bad-deflate.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("damaged.md", "# Damaged\n\n" + "words and more words " * 200)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("damaged.md")
    start = info.header_offset + 30 + len(info.filename.encode())  # no extra field: Python writes none here
    data = bytearray(path.read_bytes())
    data[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    return path


def bomb_zip(folder: Path, members: int = 8, member_bytes: int = 90_000) -> Path:
    """Members each under the upload limit that together expand far past it, and 50 MB of zeros."""
    path = folder / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for i in range(members):
            zf.writestr(f"part-{i}.txt", " " * member_bytes)
        zf.writestr("zeros.txt", b"\0" * 50_000_000)
    return path


def lying_zip(folder: Path) -> Path:
    """A member that says it is 1 kB but holds 20 MB of deflated zeros (both headers altered)."""
    import struct

    path = folder / "lying.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("small.txt", b"\0" * 20_000_000)
    data = bytearray(path.read_bytes())
    real, small = struct.pack("<I", 20_000_000), struct.pack("<I", 1_000)
    assert data.count(real) == 2  # the uncompressed size, in the local header and the central directory
    path.write_bytes(bytes(data).replace(real, small))
    return path


def cp437_name_zip(folder: Path) -> Path:
    """A member name in a legacy encoding (byte 0xE9, no UTF-8 flag): read as cp437, ``cafΘ.md``."""
    path = folder / "legacy-names.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("caf_.md", TEXT.format(title="Cafe"))
    data = path.read_bytes()
    assert data.count(b"caf_") == 2  # the local header and the central directory
    path.write_bytes(data.replace(b"caf_", b"caf\xe9"))
    return path


def false_utf8_name_zip(folder: Path) -> Path:
    """A member name flagged UTF-8 whose bytes are not UTF-8: Python cannot even list the archive."""
    path = folder / "false-utf8.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("café.md", TEXT.format(title="Cafe"))  # non-ASCII: written with the UTF-8 flag
    data = path.read_bytes()
    good = "café".encode()
    assert data.count(good) == 2
    path.write_bytes(data.replace(good, b"caf\xff\xfe"))
    return path


def snapshot(root: Path, skip: tuple[Path, ...]) -> dict[str, str]:
    """Every file under ``root`` (outside ``skip``) with the sha256 of its bytes."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or path.is_relative_to(s) for s in skip) or not path.is_file():
            continue
        found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leftovers(uploads: Path) -> list[str]:
    """Empty or half-written files in the uploads folder (there should be none)."""
    return sorted(
        p.relative_to(uploads).as_posix()
        for p in uploads.rglob("*")
        if p.is_file() and (p.stat().st_size == 0 or p.name.startswith(".part-"))
    )
