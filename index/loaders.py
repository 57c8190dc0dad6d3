"""Turn one file into text: txt, md, html, pdf and docx, with clear failures.

Each loader returns ``ExtractedText`` or raises ``IngestError`` with a reason a
person can act on. The parsing itself is done by well-kept libraries (pypdf,
python-docx, lxml, charset-normalizer); this module only chooses,
normalises and checks. Every loader is linear in the size of its input.
"""

from __future__ import annotations

import re
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path

from index.errors import IngestError
from index.models import ExtractedText

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def tidy(text: str) -> str:
    """Normalise white space and compatibility characters (ligatures) once, for every format."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def decode_text(data: bytes, path: str) -> tuple[str, str]:
    """Decode bytes as UTF-8, else as the encoding charset-normalizer detects.

    Returns ``(text, note)``; binary content raises IngestError.
    """
    head = data[:8192]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise IngestError(path, "binary content in a text file (NUL bytes); is the extension wrong?")
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise IngestError(path, "not valid UTF-8 and no text encoding could be detected; convert it to UTF-8")
    # Short Western text reads equally "clean" in many code pages ("Café" as cp1006
    # or cp1250); on such a tie take cp1252, by far the most common legacy encoding.
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos and match.coherence >= best.coherence:
            best = match
            break
    text = str(best)
    if len(_CONTROL.findall(text[:8192])) > 0.05 * max(1, len(text[:8192])):
        raise IngestError(path, "binary content in a text file; is the extension wrong?")
    return text, f"decoded as {best.encoding} (not valid UTF-8)"


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise IngestError(str(path), "cannot read: file not found (a broken link?)") from exc
    except OSError as exc:
        raise IngestError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise IngestError(str(path), "not a regular file (a pipe, socket or device); skipped")
    if st.st_size > max_bytes:
        raise IngestError(
            str(path),
            f"file is {st.st_size / 1e6:.3g} MB, over the {max_bytes / 1e6:g} MB limit "
            "(raise it with --max-file-mb or RAG_MAX_FILE_MB)",
        )
    if st.st_size == 0:
        raise IngestError(str(path), "empty file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot read: {exc.strerror or exc}") from exc


def _require_text(text: str, path: Path, what: str = "no text") -> str:
    if not text.strip():
        raise IngestError(str(path), what)
    return text


def _first_line_title(text: str, path: Path) -> str:
    for line in text.split("\n", 20)[:20]:
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:120] if len(line) <= 120 else path.stem
    return path.stem


def load_text(path: Path, max_bytes: int) -> ExtractedText:
    text, note = decode_text(_read_bytes(path, max_bytes), str(path))
    text = _require_text(tidy(text), path, "empty file (only white space)")
    is_markdown = path.suffix.lower() in {".md", ".markdown"}
    title = _first_line_title(text, path) if is_markdown else path.stem
    return ExtractedText(text=text, title=title, note=note)


_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "header", "footer", "blockquote", "pre", "dt", "dd", "figcaption",
    "main", "nav", "aside", "hr", "body",
})  # fmt: skip
# The structure an answer can quote is kept in Markdown's marks: "# " before a heading,
# "- " before a list item, " | " between the cells of a table row.
_MARKS = {"li": "- ", **{f"h{n}": "#" * n + " " for n in range(1, 7)}}
_CELL_TAGS = frozenset({"td", "th"})
_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})


class _VisibleText:
    """An lxml parser target that keeps the visible text of a page, one pass, no tree.

    Building a tree and editing it (BeautifulSoup's ``insert_before`` searches the
    parent's children each time) was quadratic in the rows of a table and the depth
    of nested tags; events in, strings out is linear, and libxml2 parses in C.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.title: list[str] = []
        self._hidden = 0  # depth inside script, style, head, ...
        self._in_title = 0  # inside the first <title> (an <svg> may hold more)
        self._cells = 0  # cells begun in the current table row

    def start(self, tag: object, attrib: object) -> None:
        name = tag.lower() if isinstance(tag, str) else ""
        if name == "title" and not self.title:
            self._in_title += 1
        if name in _HIDDEN_TAGS:
            self._hidden += 1
        elif name in _BLOCK_TAGS and not self._hidden:
            self.parts.append("\n" + _MARKS.get(name, ""))
            if name == "tr":
                self._cells = 0
        elif name in _CELL_TAGS and not self._hidden:
            self.parts.append(" | " if self._cells else "\n")
            self._cells += 1

    def end(self, tag: object) -> None:
        name = tag.lower() if isinstance(tag, str) else ""
        if name == "title":
            self._in_title = 0
        if name in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif name in _BLOCK_TAGS and not self._hidden:
            self.parts.append("\n")

    def data(self, text: str) -> None:
        if self._in_title:
            self.title.append(text)
        if not self._hidden:
            self.parts.append(text)

    def close(self) -> str:
        return "".join(self.parts)


def load_html(path: Path, max_bytes: int) -> ExtractedText:
    from lxml import etree

    raw, note = decode_text(_read_bytes(path, max_bytes), str(path))
    target = _VisibleText()
    # huge_tree lifts libxml2's limits on text size and nesting depth, which would
    # otherwise end a big or deeply nested page early and silently.
    parser = etree.HTMLParser(target=target, huge_tree=True, no_network=True)
    try:
        parser.feed(raw)
        body = parser.close()
    except etree.LxmlError as exc:
        raise IngestError(str(path), f"cannot parse this HTML ({type(exc).__name__}: {exc})") from exc
    title = " ".join("".join(target.title).split())
    text = _require_text(tidy(body), path, "no visible text in this HTML page")
    return ExtractedText(text=text, title=title or _first_line_title(text, path), note=note)


def load_pdf(path: Path, max_bytes: int) -> ExtractedText:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    _read_bytes(path, max_bytes)  # size, emptiness and readability checks
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(
                str(path), "encrypted PDF needs a password; save a decrypted copy (e.g. qpdf --decrypt)"
            )
        parts: list[str] = []
        pages: list[tuple[int, int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = tidy(_HYPHEN_BREAK.sub(r"\1\2", page.extract_text() or ""))
            if not page_text:
                continue
            if parts:
                offset += 2  # the "\n\n" joining pages
            pages.append((number, offset, offset + len(page_text)))
            parts.append(page_text)
            offset += len(page_text)
        meta_title = reader.metadata.title if reader.metadata else None
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(str(path), f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(parts)
    _require_text(text, path, "PDF has no extractable text (a scan? run OCR on it first)")
    title = str(meta_title).strip() if meta_title and str(meta_title).strip() else path.stem
    return ExtractedText(text=text, title=title, pages=tuple(pages))


def load_docx(path: Path, max_bytes: int) -> ExtractedText:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _read_bytes(path, max_bytes)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise IngestError(str(path), f"not a valid .docx file ({type(exc).__name__}); is it corrupt?") from exc
    except Exception as exc:  # zipfile.BadZipFile and lxml errors vary by version
        raise IngestError(str(path), f"not a valid .docx file ({type(exc).__name__}: {exc})") from exc
    blocks: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(node.text or "" for node in child.iter() if node.tag.endswith("}t"))
            blocks.append(_docx_mark(child) + text if text.strip() else text)
        elif tag == "tbl":
            # Only this table's own rows: a nested table is read once, as part of its cell's
            # text (iterating every descendant row read it again at every level of nesting).
            for row in child.iterchildren():
                if row.tag.endswith("}tr"):
                    cells = [
                        "".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t"))
                        for cell in row.iterchildren()
                        if cell.tag.endswith("}tc")
                    ]
                    blocks.append(" | ".join(c.strip() for c in cells))
    text = _require_text(tidy("\n".join(blocks)), path, "the document has no text")
    core_title = (document.core_properties.title or "").strip()
    return ExtractedText(text=text, title=core_title or _first_line_title(text, path))


_HEADING_STYLE = re.compile(r"(?:heading\s*(\d)|title)$", re.IGNORECASE)


def _docx_mark(paragraph: object) -> str:
    """Markdown's mark for a docx paragraph's style: "## " for Heading 2, "- " for a list item."""
    style = ""
    for node in paragraph.iter():  # type: ignore[attr-defined]
        if isinstance(node.tag, str) and node.tag.endswith("}pStyle"):
            style = next((str(v) for k, v in node.attrib.items() if k.endswith("}val")), "")
            break
    match = _HEADING_STYLE.match(style.replace("-", "").replace(" ", ""))
    if match:
        return "#" * int(match.group(1) or 1) + " "
    return "- " if style.lower().startswith("list") else ""


_LOADERS: dict[str, Callable[[Path, int], ExtractedText]] = {
    **dict.fromkeys(TEXT_SUFFIXES, load_text),
    **dict.fromkeys(HTML_SUFFIXES, load_html),
    ".pdf": load_pdf,
    ".docx": load_docx,
}


def load_file(path: Path, max_bytes: int) -> ExtractedText:
    """Extract the text of ``path`` or raise IngestError saying why not."""
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(str(path), f"unsupported file type {path.suffix or '(none)'}")
    return loader(path, max_bytes)
