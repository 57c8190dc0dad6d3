"""The one-time export of a sentence-transformers model to ONNX, checked against PyTorch.

``ensure_onnx`` makes ``model.onnx`` (fp32, with ``torch.onnx.export``) and, when asked,
``model-int8.onnx`` beside it (``onnxruntime.quantization.quantize_dynamic``, int8 weights
per output channel). Each file is written under a temporary name, run through the same
tokeniser, ONNX Runtime and pooling code that ``OnnxEmbedder`` uses on fixed sentences
(short, empty, accented, longer than the 256-word-piece window), compared with the
PyTorch model's vectors, and only then renamed into place. A file that fails the check
is deleted and the error says so. A lock file keeps two processes from exporting the
same model at once. This is the only module of the ONNX path that imports torch.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ConfigError
from index.onnx_encoder import VARIANT_FILES, FloatArray, ModelSpec, OnnxEncoder

log = logging.getLogger(__name__)

_LONG = (
    "Retrieval systems split long documents into passages, embed every passage, and compare the "
    "question's vector with each of them; a passage longer than the model's window is cut. "
)
# Fixed sentences the export must reproduce: short, empty, mixed case, non-ASCII, and longer than the window.
CHECK_TEXTS: tuple[str, ...] = (
    "How do I delete a document from the index?",
    "",
    "  The sourdough starter is fed with rye flour every morning.  ",
    "Crème brûlée, naïve café, Zürich, 東京 and São Paulo.",
    "GPU-accelerated inference: 3.5x faster (p95 < 120 ms) since v2.13!",
    _LONG * 12,
    "a",
)
# Lowest cosine to the PyTorch vectors each file may show on CHECK_TEXTS. fp32 is the same
# arithmetic; int8 weights move vectors a little (measured here: 0.973 at worst on these texts,
# 0.985 at worst and 0.992 on average over the seed article's sentences), so its floor only
# catches a broken quantisation.
MIN_COSINE = {"fp32": 0.9999, "int8": 0.95}


def ensure_onnx(spec: ModelSpec, folder: Path, variant: str, *, quiet: bool = True) -> Path:
    """The checked ONNX file of ``variant`` ("fp32" or "int8") in ``folder``, made if missing."""
    target = folder / VARIANT_FILES[variant]
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder / ".export.lock"):
        if target.is_file():  # another process made it while this one waited
            return target
        torch_model = _TorchModel(spec, quiet)
        fp32 = folder / VARIANT_FILES["fp32"]
        if not fp32.is_file():
            log.warning("first use of the onnx embedder: exporting %s to %s (once, takes a minute)", spec.folder, fp32)
            _make_checked(fp32, lambda tmp: _export_fp32(torch_model.get(), tmp, quiet), spec, torch_model.vectors,
                          "fp32")
        if variant == "int8":
            log.warning("quantising %s to int8 (once)", fp32)
            _make_checked(target, lambda tmp: _quantize_int8(fp32, tmp), spec, torch_model.vectors, "int8")
        return target


class _TorchModel:
    """The sentence-transformers model and its vectors of CHECK_TEXTS, each made once, when first needed."""

    def __init__(self, spec: ModelSpec, quiet: bool) -> None:
        self._spec = spec
        self._quiet = quiet
        self._model: Any = None
        self._vectors: FloatArray | None = None

    def get(self) -> Any:
        if self._model is None:
            with _hushed(self._quiet):
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self._spec.folder), device="cpu", local_files_only=True)
        return self._model

    def vectors(self) -> FloatArray:
        if self._vectors is None:
            with _hushed(self._quiet):
                out = self.get().encode(list(CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
            self._vectors = np.asarray(out, dtype=np.float32)
        return self._vectors


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cosines(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise cosine similarity of two stacks of vectors (pure)."""
    dots = (a * b).sum(axis=1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    sims: FloatArray = (dots / np.clip(norms, 1e-12, None)).astype(np.float32)
    return sims


def _make_checked(
    target: Path, make: Callable[[Path], None], spec: ModelSpec, reference: Callable[[], FloatArray], variant: str
) -> None:
    """``make`` writes one self-contained ONNX file; it is stored as graph + weights file, checked, renamed.

    Weights in a separate file (``model.onnx.data``) load in half the time. The graph is
    renamed into place last, so ``target`` exists only when both files are whole and checked.
    """
    single = target.with_name(f".{target.name}.{os.getpid()}.single.tmp")
    graph = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    weights = target.with_name(f"{target.name}.data")
    started = time.perf_counter()
    ok = False
    try:
        try:
            make(single)
            _store_weights_apart(single, graph, weights)
        except Exception as exc:  # any exporter failure: one clear message, and the way around it
            raise ConfigError(
                f"could not export {spec.folder} to ONNX ({variant}): {type(exc).__name__}: {exc}. "
                "Use RAG_EMBED_BACKEND=torch for this model"
            ) from exc
        vectors = OnnxEncoder(graph, spec).encode(list(CHECK_TEXTS), batch_size=4)
        sims = cosines(vectors, reference())
        worst = int(np.argmin(sims))
        if not sims[worst] >= MIN_COSINE[variant]:
            raise ConfigError(
                f"the ONNX export of {spec.folder} ({variant}) does not match the PyTorch model: cosine "
                f"{sims[worst]:.6f} < {MIN_COSINE[variant]} on {CHECK_TEXTS[worst][:60]!r}. The file was removed; "
                "use RAG_EMBED_BACKEND=torch for this model"
            )
        os.replace(graph, target)
        ok = True
        _write_json(target.with_suffix(".json"), {
            "source": str(spec.folder), "variant": variant, "min_cosine_to_torch": round(float(sims.min()), 6),
            "max_seq_length": spec.max_seq_length, "seconds": round(time.perf_counter() - started, 1),
        })
        log.info("checked %s against PyTorch (cosine >= %.4f) in %.0f s", target, sims.min(),
                    time.perf_counter() - started)
    finally:
        single.unlink(missing_ok=True)
        graph.unlink(missing_ok=True)
        if not ok:
            weights.unlink(missing_ok=True)


def _store_weights_apart(single: Path, graph: Path, weights: Path) -> None:
    import onnx

    weights.unlink(missing_ok=True)  # onnx appends to an existing weights file
    model = onnx.load(str(single))
    onnx.save_model(model, str(graph), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=weights.name, size_threshold=1024)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def _hushed(quiet: bool) -> Iterator[None]:
    """Keep torch's and transformers' progress bars, prints and warnings off the terminal."""
    if not quiet:
        yield
        return
    from index.embedding import quiet_transformers

    quiet_transformers()
    torch_log = logging.getLogger("torch")
    level = torch_log.level
    torch_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        torch_log.setLevel(level)


def _export_fp32(sentence_model: Any, path: Path, quiet: bool) -> None:
    import torch

    hf_model = sentence_model[0].auto_model  # the Transformer module's Hugging Face model

    class Hidden(torch.nn.Module):  # token ids in, last hidden state out: pooling runs in numpy
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    ids = torch.tensor([[101, 1037, 2088, 102, 0], [101, 1037, 2088, 2088, 102]])
    example = (ids, (ids != 0).long(), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with _hushed(quiet), torch.no_grad():
        program = torch.onnx.export(
            Hidden(hf_model).eval(), example, dynamo=True, verbose=False, external_data=False,
            input_names=names, output_names=["last_hidden_state"],
            dynamic_shapes={name: {0: batch, 1: seq} for name in names},
        )
        if program is None:
            raise RuntimeError("torch.onnx.export returned no program")
        program.save(str(path), external_data=False)


def _quantize_int8(fp32: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs advice through the root logger, whose first message installs a
    # stderr handler on it for good (logging.basicConfig): put the root logger back as it was
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(fp32, path, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
        root.handlers = handlers
