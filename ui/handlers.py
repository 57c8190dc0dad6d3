"""The app's event handlers: plain functions over one ``rag.Assistant``, testable without a browser.

Each method takes and returns plain values (strings, lists, the session's ``Turn``s);
``ui.app`` wires them to components. Project errors (``RagError``) become an inline
notice or ``gr.Error``; nothing here answers, retrieves or ingests by itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Assistant, RagError
from rag.serialise import to_dict
from ui import render
from ui.limits import UploadAllowance
from ui.options import option_kwargs
from ui.upload_folder import UploadFolder
from ui.uploads import Accepted, accept_uploads

Message = dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """One exchange of a session: the question and its answer (None when it failed)."""

    question: str
    answer: Answer | None


ChatUpdate = tuple[list[Message], tuple[Turn, ...], str, str, str]
"""(chat messages, turns, sources panel HTML, answer as Markdown, question box)."""


class Handlers:
    """Everything the app does, as methods over one Assistant.

    >>> h = Handlers(assistant, uploads_dir=Path("uploads"))      # doctest: +SKIP
    >>> *_, (messages, turns, sources, md, _) = h.chat("Who is Doug Fuller?", [], ())  # doctest: +SKIP
    """

    def __init__(
        self,
        assistant: Assistant,
        *,
        uploads_dir: Path,
        max_upload_mb: float | None = None,
        session_upload_mb: float | None = None,
        option_names: Sequence[str] = ("top_k", "sources"),
    ) -> None:
        self.assistant = assistant
        self.uploads_dir = uploads_dir
        self.folder = UploadFolder(uploads_dir)
        self.max_upload_bytes = int((max_upload_mb or assistant.settings.max_file_mb) * 1_000_000)
        total = session_upload_mb or assistant.settings.max_session_upload_mb
        self.allowance = UploadAllowance(int(total * 1_000_000))
        self.option_names = tuple(option_names)

    # -- asking -------------------------------------------------------------------

    def _stream(self, question: str, turns: Sequence[Turn], options: dict[str, Any]) -> Iterator[str | Answer]:
        """The Assistant's chat stream over this session's earlier turns and ``question``.

        Follow-up handling (condensing) belongs to the Assistant: the UI only passes
        the conversation, as ``{"role", "content"}`` messages, oldest first.
        """
        messages: list[dict[str, object]] = []
        for t in turns:
            if t.answer is not None:
                messages += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.text}]
        messages.append({"role": "user", "content": question})
        return self.assistant.chat_stream(messages, **options)

    def chat(
        self, question: str, messages: list[Message] | None, turns: tuple[Turn, ...] | None, *option_values: Any
    ) -> Iterator[ChatUpdate]:
        """Answer ``question`` in the chat, streaming; yields (messages, turns, sources, markdown, box)."""
        question = (question or "").strip()
        messages = list(messages or [])
        turns = tuple(turns or ())
        if not question:
            raise gr.Error("Type a question first.")
        options = option_kwargs(self.option_names, option_values)
        messages.append({"role": "user", "content": render.md_escape(question)})
        messages.append({"role": "assistant", "content": "▌"})
        yield [*messages], turns, render.sources_html(None), "", ""
        text = ""
        try:
            for piece in self._stream(question, turns, options):
                if isinstance(piece, Answer):
                    messages[-1] = {"role": "assistant", "content": render.answer_markdown(piece)}
                    turns = (*turns, Turn(question, piece))
                    yield [*messages], turns, render.sources_html(piece), piece.to_markdown(), ""
                    return
                text += piece
                messages[-1] = {"role": "assistant", "content": render.streaming_markdown(text)}
                yield [*messages], turns, render.sources_html(None), "", ""
        except RagError as exc:
            notice = f"**Could not answer:** {render.md_escape(str(exc))}"
            messages[-1] = {"role": "assistant", "content": notice}
            yield [*messages], (*turns, Turn(question, None)), render.error_html(str(exc)), "", ""
            return
        raise RuntimeError("the answer stream ended without an Answer")  # a library bug, shown by Gradio

    def select_message(self, turns: tuple[Turn, ...] | None, index: int | Sequence[int] | None) -> tuple[str, str]:
        """Sources panel and Markdown of the answer whose message (or question) was clicked."""
        turns = tuple(turns or ())
        i = index if isinstance(index, int) else (index[0] if index else -1)
        if not 0 <= i // 2 < len(turns):
            return render.sources_html(None), ""
        answer = turns[i // 2].answer
        if answer is None:
            return render.error_html("This question could not be answered."), ""
        return render.sources_html(answer), answer.to_markdown()

    def new_chat(self) -> ChatUpdate:
        return [], (), render.sources_html(None), "", ""

    def ask(self, question: str, *args: Any) -> tuple[dict[str, Any], tuple[Turn, ...]]:
        """API: answer as JSON (see ``rag ask --json``); the session's turns carry follow-ups.

        ``args`` are the option values, then the session's turns.
        """
        *option_values, raw_turns = args
        turns = tuple(raw_turns or ())
        question = (question or "").strip()
        if not question:
            raise gr.Error("the question is empty; send a question")
        answer: Answer | None = None
        try:
            for piece in self._stream(question, turns, option_kwargs(self.option_names, option_values)):
                if isinstance(piece, Answer):
                    answer = piece
        except RagError as exc:
            raise gr.Error(str(exc)) from exc
        if answer is None:
            raise RuntimeError("the answer stream ended without an Answer")
        turns = (*turns, Turn(question, answer))
        result = to_dict(answer)
        result["markdown"] = answer.to_markdown()
        result["turn"] = len(turns)
        result["history"] = [t.question for t in turns]
        return result, turns

    # -- documents ----------------------------------------------------------------

    def documents(self) -> tuple[list[list[str | int]], Any]:
        """The documents table and the delete picker's choices."""
        records = self.assistant.sources()
        rows = render.document_rows(records)
        choices = [r.display for r in records]
        return rows, gr.update(choices=choices, value=None)

    def sources(self) -> list[dict[str, Any]]:
        """API: the indexed documents."""
        return [to_dict(r) for r in self.assistant.sources()]

    def _accept(self, files: Sequence[str], request: gr.Request | None) -> Accepted:
        """Save the uploads within the session's allowance (a logged-in user's, else the page's)."""
        if request is not None and request.username:
            key = f"user:{request.username}"
        else:
            key = f"session:{request.session_hash if request is not None else ''}"
        with self.allowance.account(key) as account:
            accepted = accept_uploads(files, self.folder, self.max_upload_bytes, account.left)
            account.spend(accepted.written)
        return accepted

    def _shown(self, path: Path) -> str:
        """An uploaded file as the progress list shows it: its path inside the uploads folder."""
        return path.relative_to(self.folder.root).as_posix() if path.is_relative_to(self.folder.root) else path.name

    def ingest(
        self, files: Sequence[str] | None, request: gr.Request | None = None
    ) -> Iterator[tuple[str, list[list[str | int]], Any, str]]:
        """Add uploaded files; yields per-file progress, then the new table, picker and status."""
        if not files:
            raise gr.Error("Choose files (or a zip of a folder) to add first.")
        accepted = self._accept(files, request)
        rows: dict[str, tuple[str, str, str]] = {}
        for i, rej in enumerate(accepted.rejected):
            rows[f"rejected {i}"] = (rej.name, "rejected", rej.reason)
        for path in accepted.paths:
            rows[str(path)] = (self._shown(path), "queued", "")
        table, picker = self.documents()
        status = self.status()
        yield render.progress_markdown(list(rows.values())), table, picker, status
        if not accepted.paths:
            raise gr.Error("Nothing was added: " + "; ".join(f"{r.name}: {r.reason}" for r in accepted.rejected))

        events: queue.Queue[tuple[int, int, str] | None] = queue.Queue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["report"] = self.assistant.ingest(
                    list(accepted.paths), progress=lambda d, t, n: events.put((d, t, n))
                )
            except RagError as exc:
                outcome["error"] = exc
            finally:
                events.put(None)

        threading.Thread(target=work, name="ui-ingest", daemon=True).start()
        order = [str(p) for p in accepted.paths]
        while (event := events.get()) is not None:
            done, total, _name = event
            source = order[done - 1] if done - 1 < len(order) else ""
            if source in rows:
                rows[source] = (rows[source][0], "reading", f"{done}/{total}")
            yield render.progress_markdown(list(rows.values())), table, picker, status
        if "error" in outcome:
            raise gr.Error(f"Adding documents failed: {outcome['error']}")
        report = outcome["report"]
        failed = {f.path: f.reason for f in report.failed}
        for source in order:
            name = rows[source][0]
            if source in failed:
                rows[source] = (name, "failed", failed[source])
            elif source in report.unchanged:
                rows[source] = (name, "unchanged", "already indexed")
            else:
                rows[source] = (name, "done", "updated" if source in report.updated else "added")
        table, picker = self.documents()
        yield render.progress_markdown(list(rows.values()), report.summary()), table, picker, self.status()

    def ingest_api(self, files: Sequence[str] | None, request: gr.Request | None = None) -> dict[str, Any]:
        """API: add files; the ingest report, with the uploads that were refused and where each was saved.

        Entries name files under ``name``/``file``, never ``path``: gradio_client would
        take a ``{"path": ...}`` dict for a file to download.
        """
        if not files:
            raise gr.Error("send at least one file")
        accepted = self._accept(files, request)
        rejected = [{"name": r.name, "reason": r.reason} for r in accepted.rejected]
        saved = [{"name": s.name, "file": str(s.path)} for s in accepted.saved]
        if not accepted.paths:
            return {"ok": False, "rejected": rejected, "saved": [], "added": [], "failed": [],
                    "summary": "nothing to add"}
        try:
            report = self.assistant.ingest(list(accepted.paths))
        except RagError as exc:
            raise gr.Error(str(exc)) from exc
        return {**to_dict(report), "rejected": rejected, "saved": saved}

    def _remove_copies(self, removed: Sequence[str]) -> None:
        """Delete the files the app saved for these documents; any other file stays on disk."""
        for source in removed:
            self.folder.remove(Path(source))

    def confirm_delete(self, display: str | None) -> tuple[str, Any, str]:
        """First step of a delete: ask to confirm. Returns the question, the confirm row's update, the name."""
        if not display:
            raise gr.Error("Pick a document to delete.")
        if display not in {r.display for r in self.assistant.sources()}:
            raise gr.Error(f"{display} is not in the index any more.")
        prompt = (
            f"Delete **{render.md_escape(display)}** from the index? Its passages will no longer be used "
            "in answers; the file itself is not touched (an uploaded copy is removed)."
        )
        return prompt, gr.update(visible=True), display

    def cancel_delete(self) -> tuple[str, Any, str]:
        return "", gr.update(visible=False), ""

    def delete(self, display: str | None) -> tuple[str, list[list[str | int]], Any, str]:
        """Remove one document (by the name shown in the table); the copy the app saved of it goes too."""
        if not display:
            raise gr.Error("Pick a document to delete.")
        records = {r.display: r for r in self.assistant.sources()}
        record = records.get(display)
        if record is None:
            raise gr.Error(f"{display} is not in the index any more.")
        try:
            removed = self.assistant.delete([record.source])
        except RagError as exc:
            raise gr.Error(str(exc)) from exc
        self._remove_copies(removed)
        table, picker = self.documents()
        return f"Deleted {render.md_escape(display)}.", table, picker, self.status()

    def delete_api(self, display: str) -> list[str]:
        """API: remove a document by its shown name; returns the removed document ids."""
        records = {r.display: r for r in self.assistant.sources()}
        if display not in records:
            raise gr.Error(f"not in the index: {display}")
        try:
            removed = self.assistant.delete([records[display].source])
        except RagError as exc:
            raise gr.Error(str(exc)) from exc
        self._remove_copies(removed)
        return removed

    # -- settings and sources -----------------------------------------------------

    def status(self) -> str:
        return render.status_markdown(self.assistant.status())

    def examples(self, limit: int = 3) -> list[str]:
        """Questions to start with, from the documents' titles or first headings."""
        return self.assistant.example_questions(limit)

    def source_page(self, params: dict[str, str]) -> str:
        """The page a ``[n]`` link opens: the cited document, passage and sentence highlighted."""
        chunk = params.get("chunk", "")
        try:
            view = self.assistant.open_source(chunk, self.max_upload_bytes)
        except RagError as exc:
            return render.error_html(str(exc))

        def number(key: str) -> int | None:
            raw = params.get(key, "")
            return int(raw) if raw.isdigit() else None

        return render.document_html(view, number("start"), number("end"))
