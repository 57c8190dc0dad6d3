"""Turn the Assistant's values into the Markdown and HTML the app shows (pure, no Gradio).

Every piece of document text goes through ``md_escape`` or ``html.escape`` here, so a
document containing ``<script>`` or ``<img onerror=...>`` is shown as text and runs nothing.
"""

from __future__ import annotations

import html
import itertools
import re
import time
from collections.abc import Sequence
from urllib.parse import urlencode

from rag import Answer, Citation, DocumentRecord, IndexStatus
from rag.views import DocumentView, answer_segments, passage_blocks

# Characters Markdown (and Gradio's LaTeX/HTML handling) would act on; & < > become entities.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def md_escape(text: str) -> str:
    """``text`` as literal Markdown: no tags, links, emphasis or math survive."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code_spans(text: str) -> str:
    """``md_escape(text)``, except that `x` (paired backticks, as quoted from Markdown) shows as code."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # an unpaired backtick: keep every one as it is
        return md_escape(text)
    return "".join(md_escape(p) if i % 2 == 0 else f"<code>{md_escape(p)}</code>" for i, p in enumerate(pieces))


def citation_url(citation: Citation) -> str:
    """Relative link to the page that opens the cited document at the cited sentence."""
    start, end = citation.span
    return "source?" + urlencode({"chunk": citation.chunk.id, "start": start, "end": end})


def answer_markdown(answer: Answer) -> str:
    """The answer for the chat: escaped text, ``[n]`` as links to the source, unsupported marked."""
    searched = f"_Searched for: {md_escape(answer.standalone_question)}_\n\n" if answer.standalone_question else ""
    if answer.abstained:
        return f"{searched}**{md_escape(answer.text)}**"
    by_n = {c.n: c for c in answer.citations}
    parts: list[str] = []
    for seg in answer_segments(answer):
        links = "".join(
            f' [\\[{n}\\]]({citation_url(by_n[n])} "{_title(by_n[n])}")' if n in by_n else f" \\[{n}\\]"
            for n in seg.cites
        )
        text = md_code_spans(seg.text)
        parts.append(text + links if seg.supported else f"{text}{links} **(not supported by the sources)**")
    return searched + " ".join(parts)


def _title(c: Citation) -> str:
    return md_escape(c.location.replace('"', "'"))


def streaming_markdown(partial: str) -> str:
    """Text streamed so far, escaped (links arrive with the final answer)."""
    return md_escape(partial) + " ▌"


def sources_html(answer: Answer | None) -> str:
    """The sources panel: one card per cited passage, numbered by every citation of it, sentences highlighted."""
    if answer is None:
        return '<div class="rag-sources-empty">Sources of the answer appear here.</div>'
    if answer.abstained or not answer.citations:
        return (
            '<div class="rag-notfound" role="status"><strong>Not found in the documents.</strong> '
            "No passage supports an answer; try other words or add documents.</div>"
        )
    return '<div class="rag-sources">' + "".join(_passage_card(group) for group in cited_passages(answer)) + "</div>"


def cited_passages(answer: Answer) -> list[list[Citation]]:
    """The answer's citations grouped by the passage (chunk) they cite, in order of first citation (pure)."""
    groups: dict[str, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(c.chunk.id, []).append(c)
    return list(groups.values())


def _passage_card(group: Sequence[Citation]) -> str:
    first = group[0]
    numbers = ", ".join(
        f'<a class="rag-n" href="{html.escape(citation_url(c))}" target="_blank" rel="noopener">{c.n}</a>'
        for c in group
    )
    page = f" · page {first.chunk.page}" if first.chunk.page else ""
    score = max(c.score for c in group)
    ns = " ".join(str(c.n) for c in group)
    return (
        f'<div class="rag-source" id="rag-source-{first.n}" data-n="{ns}">'
        f'<div class="rag-source-head"><span class="rag-ns">[{numbers}]</span> '
        f'<span class="rag-file">{html.escape(first.chunk.display)}</span>'
        f'<span class="rag-meta">{html.escape(page)} · score {score:.2f}</span></div>'
        f'<div class="rag-passage">{passage_html(first.chunk.text, [c.span for c in group])}</div></div>'
    )


def passage_html(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """A passage as readable HTML: paragraphs reflowed, headings without ``#``, ``spans`` marked (pure)."""
    out: list[str] = []
    for block in passage_blocks(text):
        if block.kind == "code":
            lines = "\n".join(_marked(text, s, e, spans, prose=False) for s, e in block.parts)
            out.append(f'<pre class="rag-code">{lines}</pre>')
            continue
        # one range from the first line to the last: the line breaks inside become spaces (in _marked),
        # so a sentence marked across two source lines is one highlight
        inner = _marked(text, block.parts[0][0], block.parts[-1][1], spans, prose=True)
        tag = {"heading": "rag-heading", "item": "rag-item"}.get(block.kind, "rag-para")
        out.append(f'<p class="{tag}">{inner}</p>')
    return "".join(out)


_LINE_BREAK = re.compile(r"[ \t]*\r?\n\s*")


def _marked(text: str, start: int, end: int, spans: Sequence[tuple[int, int]], *, prose: bool) -> str:
    """``text[start:end]`` escaped, the parts inside ``spans`` in ``<mark>``.

    With ``prose`` (running text, not a code block) `x` becomes <code>x</code> and line breaks spaces.
    """
    ticks = [i for i in range(start, end) if text[i] == "`"] if prose else []
    ticks = ticks[: len(ticks) // 2 * 2]  # an unpaired backtick stays as it is
    cuts = sorted({start, end, *ticks, *(i + 1 for i in ticks),
                   *(p for s, e in spans for p in (s, e) if start < p < end)})
    pieces: list[str] = []
    in_code = False
    for a, b in itertools.pairwise(cuts):
        if a in ticks:
            in_code = not in_code
            continue
        piece = html.escape(text[a:b] if not prose else _LINE_BREAK.sub(" ", text[a:b]))
        if any(s <= a and b <= e for s, e in spans):
            piece = f'<mark class="rag-support">{piece}</mark>'
        pieces.append(f"<code>{piece}</code>" if in_code else piece)
    return "".join(pieces)


def document_html(view: DocumentView, start: int | None = None, end: int | None = None) -> str:
    """A cited document as escaped text, the cited passage (and sentence) highlighted.

    ``start``/``end`` locate the supporting sentence inside the passage; they are
    clamped to it, so any numbers are harmless.
    """
    text = view.text
    a, b = max(0, min(view.start, len(text))), max(0, min(view.end, len(text)))
    b = max(a, b)
    passage = text[a:b]
    if start is not None and end is not None and 0 <= start < end <= len(passage):
        inner = (
            html.escape(passage[:start]) + '<mark id="rag-cited" class="rag-support">'
            + html.escape(passage[start:end]) + "</mark>" + html.escape(passage[end:])
        )
    else:
        inner = '<span id="rag-cited"></span>' + html.escape(passage)
    page = f", page {view.page}" if view.page else ""
    note = f'<p class="rag-note">{html.escape(view.note)}</p>' if view.note else ""
    return (
        f'<div class="rag-document"><h2>{html.escape(view.display)}{html.escape(page)}</h2>'
        f'<p class="rag-doc-title">{html.escape(view.title)}</p>{note}'
        f'<pre class="rag-doc-text">{html.escape(text[:a])}<span class="rag-passage-cited">{inner}</span>'
        f"{html.escape(text[b:])}</pre></div>"
    )


def error_html(message: str) -> str:
    return f'<div class="rag-error" role="alert">{html.escape(message)}</div>'


def status_markdown(status: IndexStatus) -> str:
    """Index status for the settings panel."""
    size = f"{status.size_bytes / 1e6:.1f} MB" if status.size_bytes is not None else "server"
    lines = [
        f"**Index** {md_escape(status.location)} (collection {md_escape(status.collection)})",
        f"**Model** {md_escape(status.model)} ({status.dimension or '?'}-d)",
        f"**Documents** {status.documents} · **chunks** {status.chunks} · **pages** {status.pages} · **size** {size}",
        f"**Chunking** {status.chunk_size} tokens, {status.chunk_overlap} overlap",
    ]
    if not status.exists:
        lines.append("_The index is empty: add documents in the Documents tab._")
    return "\n\n".join(lines)


DOCUMENT_COLUMNS = ["File", "Title", "Chunks", "Pages", "Ingested"]


def document_rows(records: Sequence[DocumentRecord]) -> list[list[str | int]]:
    """Rows of the documents table (the table escapes its cells itself)."""
    return [
        [r.display, r.title, r.chunks, r.pages or 0, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.ingested_at))]
        for r in records
    ]


def progress_markdown(rows: Sequence[tuple[str, str, str]], summary: str = "") -> str:
    """Per-file ingest progress: (file, state, detail) rows, then the summary line."""
    lines = ["| # | File | Status |", "|---|---|---|"]  # words, not icons: no emoji font needed
    for i, (name, state, detail) in enumerate(rows, 1):
        info = f"{state}: {detail}" if detail else state
        lines.append(f"| {i} | {md_escape(name)} | {md_escape(info)} |")
    if summary:
        lines += ["", md_escape(summary)]
    return "\n".join(lines)
