"""``rag data fetch NAME``: download a public eval set from its pinned upstream address, check, store it.

Each file is fetched from ``base_url`` + the path ``evals.catalog`` pins (a commit of the
upstream repository), its sha256 is checked against the catalog's, and only then is it written
(atomically) under the data folder. A derived set (covid-qa-dev) is made from the checked
upstream file by a fixed rule, and the result's sha256 is checked too. Where the download is not
possible (no network), the error names the address and the file to put there by hand; run the
command again and it checks what was put there.

>>> sha256_of(b"")[:12]
'e3b0c44298fc'
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evals.cases import DatasetError
from evals.catalog import BuiltinSet, DataFile, builtin

CHUNK = 1 << 20


class FetchError(DatasetError):
    """A set could not be fetched or did not check out; the message names the address, the file and the fix."""


@dataclass(frozen=True)
class Fetched:
    """One file of a set now in the data folder, and how it got there."""

    path: Path
    how: str


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def derive_covid_qa_dev(upstream: bytes) -> bytes:
    """COVID-QA's development part: the papers sorted by ``document_id`` (compared as text), all but every third.

    The papers left out (positions 2, 5, 8, ...) are the held-out test part. The result keeps the
    SQuAD JSON shape and each paper unchanged, under ``{"version": "covidqa", "data": [...]}``.
    """
    try:
        articles = json.loads(upstream)["data"]
        ordered = sorted(articles, key=lambda a: str(a["paragraphs"][0]["document_id"]))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise FetchError(f"the COVID-QA file is not the SQuAD JSON expected ({exc!r})") from None
    kept = [a for i, a in enumerate(ordered) if i % 3 != 2]
    return json.dumps({"version": "covidqa", "data": kept}).encode("utf-8")


DERIVATIONS: dict[str, Callable[[bytes], bytes]] = {"covid-qa-dev": derive_covid_qa_dev}


def _check(data: bytes, expected: str, what: str) -> None:
    got = sha256_of(data)
    if got != expected:
        raise FetchError(
            f"{what} has sha256 {got}, expected {expected}: it is not the pinned file (changed upstream, "
            "cut short or replaced); nothing was stored"
        )


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            parts = []
            while block := response.read(CHUNK):
                parts.append(block)
            return b"".join(parts)
    except urllib.error.HTTPError as exc:
        raise ConnectionError(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ConnectionError(str(getattr(exc, "reason", None) or exc)) from exc


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch_file(entry: BuiltinSet, file: DataFile, data_dir: str | Path, *, base_url: str,
               timeout: float = 60.0) -> Fetched:
    """Put ``file`` of ``entry`` into ``data_dir``: a file already there is checked, else downloaded (or derived)."""
    target = Path(data_dir) / file.path
    if target.is_file():
        _check(target.read_bytes(), file.sha256, str(target))
        return Fetched(target, "already there, sha256 checked")
    if file.download is None:
        raise FetchError(f"the {entry.name} set needs {target}, which cannot be downloaded: {entry.how_to_get}")
    url = base_url.rstrip("/") + "/" + file.download.url_path
    by_hand = target.parent / file.download.url_path.rsplit("/", 1)[-1]  # == target unless the set is derived
    if by_hand.is_file():
        data, how = by_hand.read_bytes(), f"from {by_hand}"
        _check(data, file.download.sha256, str(by_hand))
    else:
        try:
            data = _download(url, timeout)
        except ConnectionError as exc:
            raise FetchError(
                f"cannot download {url} ({exc}): download that file by hand, save it as {by_hand}, "
                f"and run `rag data fetch {entry.name}` again (it checks the file's sha256)"
            ) from None
        _check(data, file.download.sha256, url)
        how = f"downloaded from {url}"
    if file.derive:
        data = DERIVATIONS[file.derive](data)
        _check(data, file.sha256, f"{target.name} derived from {by_hand.name}")
        how += f", {target.name} derived from it"
    _write_atomic(target, data)
    return Fetched(target, how)


def fetch(name: str, data_dir: str | Path, *, base_url: str, timeout: float = 60.0) -> list[Fetched]:
    """Put every file of the built-in set ``name`` into ``data_dir``, each checked by sha256."""
    entry = builtin(name)
    if not entry.files:
        return []
    return [fetch_file(entry, f, data_dir, base_url=base_url, timeout=timeout) for f in entry.files]
