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
from index.pdf_text import document_lines, marked_pages

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_MARKED_TITLE = re.compile(r"#{1,6} ([^\n]+)")


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
        texts = marked_pages(document_lines(reader.pages))
        parts: list[str] = []
        pages: list[tuple[int, int, int]] = []
        offset = 0
        for number, raw in enumerate(texts, start=1):
            page_text = tidy(_HYPHEN_BREAK.sub(r"\1\2", raw))
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
    title = str(meta_title).strip() if meta_title and str(meta_title).strip() else ""
    printed = _MARKED_TITLE.match(text)
    if not title and printed:  # no title in the metadata: the one printed big at the top of page one
        title = printed.group(1).strip()[:120]
    return ExtractedText(text=text, title=title or path.stem, pages=tuple(pages))


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
    marks = _docx_style_marks(document)
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(node.text or "" for node in child.iter() if node.tag.endswith("}t"))
            blocks.append(_docx_mark(child, marks) + text if text.strip() else text)
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
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_style_marks(document: object) -> dict[str, str]:
    """Markdown's mark for each paragraph style id: "# " Title, "## " Heading 2, "- " a List style.

    A style is known by its name, which Word writes in English for its built-in styles
    whatever the language of the document ("heading 1" where the id is "berschrift1"), by
    its outline level, or by the style it is based on (followed a few steps).
    """
    styles: dict[str, tuple[str, str, str]] = {}  # id -> (name, outline level, based on)
    for style in document.styles.element.iterchildren(f"{_W}style"):  # type: ignore[attr-defined]
        if style.get(f"{_W}type") != "paragraph":
            continue
        name = style.find(f"{_W}name")
        based = style.find(f"{_W}basedOn")
        outline = style.find(f"{_W}pPr/{_W}outlineLvl")
        styles[style.get(f"{_W}styleId", "")] = (
            name.get(f"{_W}val", "") if name is not None else "",
            outline.get(f"{_W}val", "") if outline is not None else "",
            based.get(f"{_W}val", "") if based is not None else "",
        )

    def mark(style_id: str) -> str:
        for _ in range(5):
            if style_id not in styles:
                break
            name, outline, based = styles[style_id]
            match = _HEADING_STYLE.match(name.replace("-", "").replace(" ", ""))
            if match:
                return "#" * int(match.group(1) or 1) + " "
            if name.lower().startswith("list"):
                return "- "
            if outline.isdigit() and int(outline) < 9:
                return "#" * min(6, int(outline) + 1) + " "
            style_id = based
        return ""

    return {style_id: mark(style_id) for style_id in styles}


def _docx_mark(paragraph: object, marks: dict[str, str]) -> str:
    """Markdown's mark for a docx paragraph: its style's, or "- " for any numbered or bulleted one."""
    properties = paragraph.find(f"{_W}pPr")  # type: ignore[attr-defined]
    if properties is None:
        return ""
    style = properties.find(f"{_W}pStyle")
    style_id = style.get(f"{_W}val", "") if style is not None else ""
    if style_id in marks:
        found = marks[style_id]
    else:  # a style the document does not define: read its id as a name
        match = _HEADING_STYLE.match(style_id.replace("-", "").replace(" ", ""))
        found = "#" * int(match.group(1) or 1) + " " if match else ("- " if style_id.lower().startswith("list") else "")
    if not found and properties.find(f"{_W}numPr") is not None:
        return "- "
    return found


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
