"""The answer options in the settings panel: one entry per keyword of ``Assistant.stream``.

To add a setting (retrieval mode, the LLM, ...), append an ``Option`` whose ``name`` is the
keyword the Assistant takes and whose ``build`` makes its control; the chat, the API and
the settings panel all pick it up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag import Settings


@dataclass(frozen=True)
class Option:
    """A keyword argument of ``Assistant.stream``/``ask`` and the control that sets it."""

    name: str
    build: Callable[[Settings], gr.components.Component]


def _top_k(settings: Settings) -> gr.components.Component:
    return gr.Slider(
        1, 20, value=settings.top_k, step=1, label="Passages to retrieve (top-k)", elem_id="opt-top-k"
    )


def _sources(settings: Settings) -> gr.components.Component:
    return gr.Textbox(
        value="", label="Only documents matching", placeholder="a glob, e.g. *.pdf or reports/*", elem_id="opt-sources"
    )


OPTIONS: list[Option] = [
    Option("top_k", _top_k),
    Option("sources", _sources),
]


def option_kwargs(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """Keyword arguments for the Assistant from the controls' values; missing or empty means default."""
    if len(values) > len(names):
        raise ValueError(f"{len(values)} option values for {len(names)} options {list(names)}")
    kwargs: dict[str, Any] = {}
    for name, value in zip(names, values, strict=False):
        if value is None or value == "":
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        kwargs[name] = value.strip() if isinstance(value, str) else value
    return kwargs
