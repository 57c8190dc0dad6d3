"""The chat web UI (Gradio) over ``rag.Assistant``; started by ``rag ui``.

>>> from ui.app import build_app              # doctest: +SKIP
>>> build_app(Assistant.open("my-index")).launch()   # doctest: +SKIP
"""

from __future__ import annotations

__all__: list[str] = []
