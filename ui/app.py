"""The Gradio Blocks app over a ``rag.Assistant``, and ``rag ui`` (``run_ui``).

Layout: a Chat tab (conversation with example questions while it is empty, question box,
sources panel beside it, below it on a phone), a Documents tab (upload, per-file progress,
list, delete after a confirmation) and a Settings tab (the answer options of ``ui.options``
and the index status). A hidden page ``/source`` shows a
cited document. Named API endpoints: ``/ask``, ``/ingest``, ``/sources`` (and ``/delete``,
``/status``).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Assistant, ConfigError
from ui import render
from ui.handlers import Handlers
from ui.limits import LoginGuard
from ui.options import OPTIONS, Option
from ui.uploads import ALLOWED_SUFFIXES, allowed_types_text

CSS = """
.rag-sources { display: flex; flex-direction: column; gap: .6rem; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .75rem; }
.rag-source-head { display: flex; flex-wrap: wrap; gap: .4rem; align-items: baseline; margin-bottom: .35rem; }
.rag-file { font-weight: 600; overflow-wrap: anywhere; }
.rag-meta { color: var(--body-text-color-subdued); font-size: .85em; }
.rag-passage { overflow-wrap: anywhere; font-size: .9em; line-height: 1.45; }
.rag-passage p { margin: 0 0 .45em; }
.rag-passage .rag-heading { font-weight: 600; }
.rag-passage .rag-item { padding-left: 1em; text-indent: -.7em; }
.rag-passage .rag-item::before { content: "\\2022\\00a0"; }
.rag-passage pre.rag-code { white-space: pre-wrap; font-size: .95em; margin: 0 0 .45em; }
.rag-ns { white-space: nowrap; }
.rag-ns a.rag-n { padding: 0; margin: 0; }
.rag-passage mark.rag-support { padding: 0; border-radius: 0; }
mark.rag-support { background: #fde68a; color: #111; padding: 0 .1em; border-radius: 2px; }
.rag-notfound, .rag-sources-empty { color: var(--body-text-color-subdued); padding: .5rem 0; }
.rag-notfound strong { color: var(--body-text-color); }
.rag-error { color: #b91c1c; border: 1px solid #fca5a5; background: #fef2f2;
             border-radius: 6px; padding: .5rem .75rem; }
.rag-doc-text { white-space: pre-wrap; overflow-wrap: anywhere; font-family: inherit; line-height: 1.5; }
.rag-passage-cited { background: #eef2ff; }
.rag-note { color: #92400e; }
#sources-col { max-height: 80vh; overflow: auto; min-width: 0; flex-wrap: nowrap; }
@media (max-width: 640px) { #sources-col { max-height: none; } }
"""

# Scroll the cited sentence into view when a document page is shown (our code, not the document's).
_SCROLL_JS = "watch('value', () => element.querySelector('#rag-cited')?.scrollIntoView({block: 'center'}));"


@dataclass(frozen=True)
class UIConfig:
    """How the app is served (``rag ui`` options)."""

    host: str = "127.0.0.1"
    port: int = 7860
    auth: list[tuple[str, str]] | None = None
    uploads_dir: Path | None = None  # default: INDEX/uploads
    max_upload_mb: float | None = None  # default: the index's max_file_mb
    session_upload_mb: float | None = None  # default: the max_session_upload_mb setting
    options: list[Option] = field(default_factory=lambda: list(OPTIONS))
    title: str = "Ask your documents"


def default_uploads_dir(assistant: Assistant) -> Path:
    """``INDEX/uploads``: uploads live inside the index folder, so they go (and stay ignored) with it."""
    return (assistant.folder or Path(assistant.settings.index_dir)).expanduser().resolve() / "uploads"


def build_app(assistant: Assistant, config: UIConfig | None = None) -> gr.Blocks:
    """The Blocks app; ``launch`` it, or mount it in a FastAPI app."""
    config = config or UIConfig()
    handlers = Handlers(
        assistant,
        uploads_dir=(config.uploads_dir or default_uploads_dir(assistant)).resolve(),
        max_upload_mb=config.max_upload_mb,
        session_upload_mb=config.session_upload_mb,
        option_names=[o.name for o in config.options],
    )
    limit_mb = handlers.max_upload_bytes / 1e6
    private: dict[str, Any] = {"api_visibility": "private"}

    with gr.Blocks(title=config.title, analytics_enabled=False) as demo:
        # "hidden", not False: a Navbar with visible=False never mounts, so Gradio's default bar (a
        # lone "Home" link, shown because the app has a second page) stays on screen
        gr.Navbar(visible="hidden")  # type: ignore[attr-defined, arg-type]
        turns = gr.State(())
        gr.Markdown(f"## {render.md_escape(config.title)}", elem_id="app-title")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    examples = handlers.examples()
                    chatbot = gr.Chatbot(
                        elem_id="chat", label="Conversation", height=480, latex_delimiters=[],
                        buttons=["copy"], feedback_options=None, autoscroll=True,
                        placeholder="Ask a question about the indexed documents, or click an example. "
                        "Each answer cites its sources as [n]: click one to open it.",
                        examples=[{"text": q} for q in examples] or None,
                    )
                    question = gr.Textbox(
                        show_label=False, placeholder="Ask a question…  (Enter to send)",
                        elem_id="question", lines=1, max_lines=4, submit_btn="Ask", autofocus=True,
                    )
                    with gr.Row():
                        new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
                # Beside the chat; on a phone right below the question box (the examples live in the
                # empty chat and are gone once it has an answer, so nothing stands between).
                with gr.Column(scale=2, min_width=280, elem_id="sources-col"):
                    gr.Markdown("### Sources")
                    sources_panel = gr.HTML(render.sources_html(None), elem_id="sources")
                    with gr.Accordion("Copy the answer with its sources (Markdown)", open=False):
                        answer_md = gr.Textbox(
                            label="Answer and sources", lines=6, interactive=False, buttons=["copy"],
                            elem_id="answer-md",
                        )

            with gr.Tab("Documents", id="documents-tab"):
                upload = gr.File(
                    label=f"Add documents: {allowed_types_text()} (a zip adds a folder), up to {limit_mb:.0f} MB each",
                    file_count="multiple", file_types=list(ALLOWED_SUFFIXES), elem_id="upload",
                )
                add_btn = gr.Button("Add to the index", variant="primary", elem_id="add-docs")
                progress = gr.Markdown(elem_id="ingest-progress")
                table = gr.Dataframe(
                    headers=render.DOCUMENT_COLUMNS, value=render.document_rows(assistant.sources()),
                    interactive=False, elem_id="documents", wrap=True, label="Indexed documents",
                )
                with gr.Row():
                    picker = gr.Dropdown(
                        label="Document", choices=[r.display for r in assistant.sources()],
                        elem_id="delete-pick", scale=3,
                    )
                    delete_btn = gr.Button("Delete from the index", variant="stop", elem_id="delete-doc", scale=1)
                with gr.Row(visible=False, elem_id="delete-confirm-row") as confirm_row:
                    confirm_text = gr.Markdown(elem_id="delete-question")
                    confirm_btn = gr.Button("Yes, delete", variant="stop", size="sm", elem_id="delete-confirm")
                    cancel_btn = gr.Button("Cancel", size="sm", elem_id="delete-cancel")
                pending_delete = gr.State("")
                delete_note = gr.Markdown(elem_id="delete-note")

            with gr.Tab("Settings", id="settings-tab"):
                option_inputs = [o.build(assistant.settings) for o in config.options]
                gr.Markdown("### Index")
                status = gr.Markdown(handlers.status(), elem_id="index-status")
                refresh = gr.Button("Refresh", size="sm")

        chat_outputs = [chatbot, turns, sources_panel, answer_md, question]
        question.submit(
            handlers.chat, [question, chatbot, turns, *option_inputs], chat_outputs,
            concurrency_limit=4, concurrency_id="answer", api_name="ui_chat", **private,
        )
        new_chat.click(handlers.new_chat, None, chat_outputs, api_name="ui_new_chat", **private)
        chatbot.clear(handlers.new_chat, None, chat_outputs, api_name="ui_clear", **private)

        def on_select(state: tuple[Any, ...], evt: gr.SelectData) -> tuple[str, str]:
            return handlers.select_message(state, evt.index)

        chatbot.select(on_select, [turns], [sources_panel, answer_md], api_name="ui_select", **private)

        def on_example(evt: gr.SelectData, messages: Any, state: Any, *options: Any) -> Any:
            yield from handlers.chat(str(evt.value.get("text", "")), messages, state, *options)

        chatbot.example_select(
            on_example, [chatbot, turns, *option_inputs], chat_outputs,
            concurrency_limit=4, concurrency_id="answer", api_name="ui_example", **private,
        )
        add_btn.click(
            handlers.ingest, [upload], [progress, table, picker, status],
            concurrency_id="write", api_name="ui_ingest", **private,
        )
        confirm_outputs = [confirm_text, confirm_row, pending_delete]
        delete_btn.click(handlers.confirm_delete, [picker], confirm_outputs, api_name="ui_confirm_delete", **private)
        cancel_btn.click(handlers.cancel_delete, None, confirm_outputs, api_name="ui_cancel_delete", **private)
        confirm_btn.click(
            handlers.delete, [pending_delete], [delete_note, table, picker, status],
            concurrency_id="write", api_name="ui_delete", **private,
        ).then(handlers.cancel_delete, None, confirm_outputs, **private)
        refresh.click(handlers.status, None, status, api_name="ui_refresh", **private)
        demo.load(handlers.documents, None, [table, picker], api_name="ui_documents", **private)
        demo.load(handlers.status, None, status, api_name="ui_status", **private)

        # Named API endpoints (gradio_client): hidden components carry their values.
        with gr.Column(visible=False):
            api_question = gr.Textbox(label="question")
            api_files = gr.File(file_count="multiple", label="files")
            api_name = gr.Textbox(label="document")
            api_out = gr.JSON()
            api_ask, api_ingest, api_sources, api_delete, api_status = (gr.Button() for _ in range(5))
        api_ask.click(
            _with_parameters(handlers.ask, ["question", *(o.name for o in config.options), "session"]),
            [api_question, *option_inputs, turns], [api_out, turns],
            api_name="ask", concurrency_limit=4, concurrency_id="answer",
        )
        api_ingest.click(handlers.ingest_api, [api_files], api_out, api_name="ingest", concurrency_id="write")
        api_sources.click(handlers.sources, None, api_out, api_name="sources")
        api_delete.click(handlers.delete_api, [api_name], api_out, api_name="delete", concurrency_id="write")
        api_status.click(handlers.status, None, gr.Markdown(visible=False), api_name="status")

    with demo.route("Source", "/source", show_in_navbar=False):
        gr.Navbar(visible="hidden")  # type: ignore[attr-defined, arg-type]
        gr.HTML('<a href="./">← Back to the chat</a>', elem_id="back")
        document = gr.HTML(elem_id="document", js_on_load=_SCROLL_JS)

        def show_source(request: gr.Request) -> str:
            return handlers.source_page(dict(request.query_params))

        demo.load(show_source, None, document, api_name="ui_source", **private)
    app: gr.Blocks = demo
    return app


def _with_parameters(fn: Callable[..., Any], names: list[str]) -> Callable[..., Any]:
    """``fn`` with a signature naming its positional parameters, for the API docs and clients."""

    def call(*args: Any) -> Any:
        return fn(*args)

    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    call.__doc__ = fn.__doc__
    return call


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """``user:password``, or a file of such lines (``#`` comments and blank lines ignored)."""
    if not value:
        return None
    path = Path(value).expanduser()
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [value]
    pairs: list[tuple[str, str]] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            where = f"in {path}" if path.is_file() else "for --auth"
            raise ConfigError(
                f"login {where} must look like user:password (got {line[:20]!r}…); or give a file of such lines"
            )
        pairs.append((user, password))
    if not pairs:
        raise ConfigError(f"--auth file {path} has no user:password lines")
    return pairs


def sample_paths() -> list[Path]:
    """The sample corpus: the project's README.md and docs/*.md, found next to the ``ui`` package."""
    root = Path(__file__).resolve().parents[1]
    found = [root / "README.md"] if (root / "README.md").is_file() else []
    docs = root / "docs"
    if docs.is_dir():
        found += sorted(p for p in docs.glob("*.md") if p.is_file())
    return found


def launch(demo: gr.Blocks, config: UIConfig, *, block: bool = True) -> str:
    """Serve ``demo``; returns the local URL (blocks until Ctrl-C unless ``block`` is False)."""
    limit = config.max_upload_mb
    _, url, _ = demo.launch(
        server_name=config.host, server_port=config.port,
        auth=LoginGuard(config.auth) if config.auth else None,  # wrong passwords are throttled
        auth_message="Log in to ask questions of the documents." if config.auth else None,
        max_file_size=int(limit * 1_000_000) if limit else None, show_error=True, quiet=not block,
        footer_links=["api"], prevent_thread_lock=not block, css=CSS, ssr_mode=False,
        enable_monitoring=False, run_history=False,
    )
    return str(url)


def run_ui(
    assistant: Assistant,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    sample: list[Path] | None = None,
    uploads_dir: str | None = None,
    max_upload_mb: float | None = None,
    started: float | None = None,
) -> int:
    """``rag ui``: ingest the sample corpus into an empty index, then serve until Ctrl-C."""
    config = UIConfig(
        host=host, port=port, auth=parse_auth(auth),
        uploads_dir=Path(uploads_dir) if uploads_dir else None,
        max_upload_mb=max_upload_mb or assistant.settings.max_file_mb,
    )
    if not assistant.sources():
        paths = sample_paths() if sample is None else sample
        if paths:
            report = assistant.ingest(paths, include=["*.md", "*.txt", "*.pdf", "*.html", "*.docx"])
            print(f"the index was empty: added the sample corpus ({report.summary()})")
    assistant.warm_up()  # load the model now, not on the first question
    demo = build_app(assistant, config)
    demo.queue(default_concurrency_limit=2)
    url = launch(demo, config, block=False)
    took = f" in {time.perf_counter() - started:.1f}s" if started is not None else ""
    print(f"ready{took}: {url}", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close(verbose=False)
    return 0
