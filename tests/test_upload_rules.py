"""The pure rules behind uploads: name cleaning, containment, the uploads folder's record, the limits.

Real files on disk (and real symbolic links); no server. The server-level tests of the
same rules are in ``tests/test_upload_security.py``.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from tests import hostile_uploads as hostile
from ui.limits import LoginGuard, UploadAllowance
from ui.safe_names import clean_component, clean_filename, contained, folder_for_archive, member_parts, numbered
from ui.upload_folder import MANIFEST, TooBig, UploadFolder
from ui.uploads import accept_uploads

# -- names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("..", ""), (".", ""), ("...", ""), ("", ""), ("  ", ""), (".hidden", "hidden"), ("../etc", "_etc"),
        ("a/b\\c", "a_b_c"), ("nul\x00byte", "nul_byte"), ("esc\x1b[2J", "esc_[2J"),
        ("rtl\u202egpj.exe", "rtl_gpj.exe"), ("line\nbreak", "line_break"),
        ("a..b", "a.b"), ("café (1)", "café (1)"), ("é" * 300, "é" * 100),
    ],
)
def test_clean_component(raw: str, clean: str) -> None:
    assert clean_component(raw) == clean


def test_cleaned_names_are_plain_components() -> None:
    for raw in ["..", "../..", "/", "\\..\\", ".\x00.", "..\u202e", "a/../b", "\u2028..", " . . "]:
        name = clean_component(raw)
        assert "/" not in name and "\\" not in name and not name.startswith(".") and ".." not in name
        assert name == "" or Path(name).name == name


def test_clean_filename_keeps_a_plain_suffix() -> None:
    assert clean_filename("...md") == "file.md"
    assert clean_filename(".md") == "file.md"
    assert clean_filename("..") == "file"
    assert clean_filename("report.final.PDF") == "report.final.PDF"
    assert clean_filename("x.m\x00d") == "x.m_d"  # not a plain suffix: cleaned with the rest


def test_archive_folders() -> None:
    assert folder_for_archive("...zip") == "archive"
    assert folder_for_archive("..zip") == "archive"
    assert folder_for_archive(".zip") == "archive"
    assert folder_for_archive("tapir.md.zip") == "tapir.md"
    assert folder_for_archive("../up.ZIP") == "_up"


def test_member_parts() -> None:
    assert member_parts("docs/a.md") == ("docs", "a.md")
    assert member_parts("docs\\sub\\a.md") == ("docs", "sub", "a.md")
    assert member_parts("./docs//a.md") == ("docs", "a.md")
    assert member_parts(".git/x.md") == ("git", "x.md")
    assert member_parts("../a.md") == "its path climbs out of the archive ('..')"
    assert member_parts("a/../../b.md") == "its path climbs out of the archive ('..')"
    assert member_parts("..\\..\\b.md") == "its path climbs out of the archive ('..')"
    assert "absolute" in str(member_parts("/etc/passwd.md"))
    assert "absolute" in str(member_parts("C:/Windows/x.md"))
    assert member_parts("...") == ("file",)
    assert member_parts("...md/x.md") == ("md", "x.md")


def test_numbered() -> None:
    assert numbered("tapir.md", 1, True) == "tapir.md"
    assert numbered("tapir.md", 2, True) == "tapir (2).md"
    assert numbered("tapir.md", 2, False) == "tapir.md (2)"


def test_contained_judges_the_resolved_path(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    assert contained(root, root / "sub" / "a.md") == root / "sub" / "a.md"
    assert contained(root, root / ".." / "victim.md") is None  # lexically "inside", really the parent
    assert contained(root, root / "link" / "a.md") is None
    assert contained(root, root) is None
    assert contained(root / "sub" / "..", root / "a.md") == root / "a.md"


# -- the uploads folder ---------------------------------------------------------


def test_a_folder_writes_only_inside_and_owns_only_what_it_wrote(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.md").write_text("outside")
    os.symlink(tmp_path / "outside", root / "docs")  # a planted link to a folder outside
    os.symlink(tmp_path / "outside" / "a.md", root / "a.md")  # and to a file outside
    (root / "mine.md").write_text("the user's own file")
    folder = UploadFolder(root)
    taken: set[Path] = set()
    into_link = folder.claim(("docs", "a.md"), taken)
    assert into_link == root / "docs (2)" / "a.md"
    assert folder.claim(("a.md",), taken) == root / "a (2).md"
    assert folder.claim(("mine.md",), taken) == root / "mine (2).md"
    folder.save(into_link, io.BytesIO(b"# A"), 100)
    assert (tmp_path / "outside" / "a.md").read_text() == "outside"
    assert folder.owns(into_link) and not folder.owns(root / "mine.md") and not folder.owns(root / "a.md")
    assert not folder.owns(root / "docs (2)" / ".." / ".." / "outside" / "a.md")
    assert not folder.remove(root / "mine.md") and not folder.remove(root / "a.md")
    assert (root / "mine.md").exists() and (tmp_path / "outside" / "a.md").exists()
    assert folder.remove(into_link) and not (root / "docs (2)").exists()
    with pytest.raises(OSError, match="not a place inside"):
        folder.save(root / "docs" / "b.md", io.BytesIO(b"x"), 100)
    with pytest.raises(OSError, match="not a place inside"):
        folder.save(root / MANIFEST, io.BytesIO(b"{}"), 100)


def test_a_file_saved_before_is_replaced_but_not_twice_in_one_batch(tmp_path: Path) -> None:
    folder = UploadFolder(tmp_path / "uploads")
    first = folder.claim(("a.md",), set())
    folder.save(first, io.BytesIO(b"one"), 100)
    batch: set[Path] = set()
    assert folder.claim(("a.md",), batch) == first  # re-uploaded: replaces the app's own copy
    assert folder.claim(("a.md",), batch) == first.with_name("a (2).md")  # same name twice in one upload


class _Endless:
    """A stream that never ends (a decompressor fed a bomb), counting what it handed out."""

    def __init__(self) -> None:
        self.handed = 0

    def read(self, size: int = -1, /) -> bytes:
        n = 1 << 16 if size < 0 else size
        self.handed += n
        return b"\0" * n


def test_saving_stops_at_the_limit_and_leaves_nothing(tmp_path: Path) -> None:
    folder = UploadFolder(tmp_path / "uploads")
    dest = folder.claim(("bomb", "zeros.txt"), set())
    stream = _Endless()
    with pytest.raises(TooBig):
        folder.save(dest, stream, 1_000_000)
    assert stream.handed == 1_000_001  # read one byte past the limit, then stopped
    assert not dest.exists() and [p.name for p in dest.parent.iterdir()] == []
    assert not folder.owns(dest)


def test_an_unreadable_record_owns_nothing(tmp_path: Path) -> None:
    folder = UploadFolder(tmp_path / "uploads")
    dest = folder.claim(("a.md",), set())
    folder.save(dest, io.BytesIO(b"x"), 10)
    (folder.root / MANIFEST).write_text("{not json")
    assert not folder.owns(dest) and not folder.remove(dest) and dest.exists()


# -- accepting uploads without a server --------------------------------------------


def test_hostile_archives_are_reported_and_nothing_escapes(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "notes.md").write_text(hostile.VICTIM_TEXT)
    files = [
        hostile.dots_zip(incoming), hostile.dots_zip(incoming, "..zip"), hostile.escaping_zip(incoming),
        hostile.bad_crc_zip(incoming), hostile.bad_deflate_zip(incoming), hostile.bomb_zip(incoming),
        hostile.cp437_name_zip(incoming), hostile.false_utf8_name_zip(incoming),
    ]
    uploads = tmp_path / "uploads"
    before = hostile.snapshot(tmp_path, (uploads,))
    got = accept_uploads(files, uploads, max_bytes=100_000)
    assert hostile.snapshot(tmp_path, (uploads,)) == before and hostile.leftovers(uploads) == []
    saved = sorted(p.relative_to(uploads).as_posix() for p in got.paths)
    assert saved == [
        "archive/victim/notes (2).md",  # "..zip" after "...zip" in one upload: the same folder, a new name
        "archive/victim/notes.md", "bad-crc/sound.md", "bomb/part-0.txt", "escaping/good/kept.md",
        "legacy-names/cafΘ.md",
    ]
    reasons = {r.name: r.reason for r in got.rejected}
    assert set(reasons) == {
        "escaping.zip/../../victim/notes.md", "escaping.zip/docs/../../escape.md",
        "escaping.zip//tmp/absolute-escape.md", "escaping.zip/link.md", "bad-crc.zip/broken.md",
        "bad-deflate.zip/damaged.md", *(f"bomb.zip/part-{i}.txt" for i in range(1, 8)), "bomb.zip/zeros.txt",
        "false-utf8.zip",
    }
    assert got.written == sum(p.stat().st_size for p in got.paths) <= 6 * 100_000
    assert got.unpacked <= len(files) * 100_000  # the work: decompressed bytes, kept or not


def test_a_member_that_lies_about_its_size_is_read_no_further(tmp_path: Path) -> None:
    lying = hostile.lying_zip(tmp_path)
    got = accept_uploads([lying], tmp_path / "uploads", max_bytes=100_000)
    assert got.paths == () and "Bad CRC-32" in got.rejected[0].reason
    assert got.unpacked <= 1_000  # at most what it claimed, not the 20 MB it holds
    assert hostile.leftovers(tmp_path / "uploads") == []


def test_the_allowance_caps_one_call(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("x" * 600)
    b.write_text("y" * 600)
    got = accept_uploads([a, b], tmp_path / "uploads", max_bytes=1000, allowance=1000)
    assert [p.name for p in got.paths] == ["a.txt"] and got.written == 600
    assert "upload allowance" in got.rejected[0].reason and got.rejected[0].name == "b.txt"


# -- limits ---------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_guard_backs_off_after_a_few_failures() -> None:
    clock = _Clock()
    guard = LoginGuard([("ann", "s3cret"), ("bob", "hunter2")], free_tries=3, first_wait=1, max_wait=8, clock=clock)
    assert guard("ann", "s3cret")
    assert [guard("ann", "x") for _ in range(3)] == [False] * 3
    assert not guard("ann", "s3cret")  # locked, though right
    assert guard("bob", "hunter2")  # another name is not locked
    assert [guard("ann", "x") for _ in range(100)] == [False] * 100  # refused unchecked: the wait does not grow
    assert guard.wait_left("ann") == 1
    clock.now += 1
    assert not guard("ann", "y") and guard.wait_left("ann") == 2  # the fourth failure doubles the wait
    clock.now += 2
    assert not guard("ann", "z") and guard.wait_left("ann") == 4
    clock.now += 4
    assert not guard("ann", "w") and guard.wait_left("ann") == 8
    clock.now += 8
    assert not guard("ann", "v") and guard.wait_left("ann") == 8  # capped at max_wait
    clock.now += 8
    assert guard("ann", "s3cret") and guard.wait_left("ann") == 0
    assert not guard("ann", "s3cre") and not guard("ann", "s3cret ") and not guard("Ann", "s3cret")


def test_login_guard_counts_parallel_guesses() -> None:
    guard = LoginGuard([("ann", "s3cret")], free_tries=5, first_wait=60)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(guard("ann", "guess"))) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [False] * 50 and not guard("ann", "s3cret")


def test_login_guard_forgets_the_oldest_names_first() -> None:
    guard = LoginGuard([("ann", "s3cret")], free_tries=1, first_wait=60, max_names=3)
    for name in ["n1", "n2", "ann", "n3"]:
        guard(name, "x")
    assert guard.wait_left("ann") > 0 and guard.wait_left("n1") == 0


def test_upload_allowance_is_per_session_and_taken_in_turns() -> None:
    allowance = UploadAllowance(1000)
    seen: list[int] = []

    def upload() -> None:
        with allowance.account("s1") as account:
            left = account.left
            seen.append(left)
            account.spend(min(left, 400))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen, reverse=True) == [1000, 600, 200, 0] and allowance.spent("s1") == 1000
    with allowance.account("s2") as account:
        assert account.left == 1000
    with pytest.raises(ValueError):
        UploadAllowance(0)


def test_encrypted_and_bzip2_members_are_refused_unread(tmp_path: Path) -> None:
    import zipfile

    packed = tmp_path / "packed.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr("bz.md", "# Bz\n\n" + "text " * 100, compress_type=zipfile.ZIP_BZIP2)
    locked = tmp_path / "locked.zip"
    with zipfile.ZipFile(locked, "w") as zf:
        zf.writestr("secret.md", "# Secret\n")
    with zipfile.ZipFile(locked) as zf:
        central = zf.start_dir
    data = bytearray(locked.read_bytes())
    data[6] |= 0x1  # "encrypted", in the local header
    data[central + 8] |= 0x1  # and in the central directory
    locked.write_bytes(bytes(data))
    got = accept_uploads([packed, locked], tmp_path / "uploads", max_bytes=100_000)
    reasons = {r.name: r.reason for r in got.rejected}
    assert "re-create the zip with ordinary (deflate) compression" in reasons["packed.zip/bz.md"]
    assert reasons["locked.zip/secret.md"].startswith("encrypted")
    assert got.paths == () and got.unpacked == 0
