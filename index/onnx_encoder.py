"""One exported sentence-transformers model on ONNX Runtime: texts in, unit vectors out.

``OnnxEncoder`` is what both ``index.onnx_embedding`` (the embedder, with its cache and
one-time export) and ``index.onnx_export`` (which checks a fresh export against PyTorch)
run; it lives below both so that neither imports the other's module back.

Texts are tokenised once, unpadded, sorted by their number of word pieces and cut into
batches whose rows all have the longest row's length or close to it (``length_batches``);
each batch is padded to its own longest row. Padding changes no vector (the attention
mask hides it) but costs the same work as real tokens: 32 texts in arrival order padded
to the longest carry 45-95% padding on xquad paragraphs, these batches at most 1/8.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.errors import ConfigError

# variant -> file in the model's cache folder (the int8 file sits beside the fp32 one)
VARIANT_FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
# Word pieces per forward pass at most (rows x the batch's longest row): 8 texts of a full
# 256-piece window, 32 questions. Fewer rows per batch leave less room for padding.
MAX_BATCH_TOKENS = 2048
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ModelSpec:
    """What the ONNX path needs to reproduce a sentence-transformers model exactly."""

    folder: Path
    max_seq_length: int
    do_lower_case: bool
    dimension: int
    pooling_dir: str  # the Pooling module's sub-folder, e.g. "1_Pooling"


def read_json(path: Path) -> Any:
    """A JSON file of the model folder; ConfigError naming the file when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path} ({exc}); reinstall the model or use RAG_EMBED_BACKEND=torch") from exc


def mean_pool_normalize(hidden: FloatArray, mask: npt.NDArray[np.int64]) -> FloatArray:
    """Mean of the token vectors under the attention mask, scaled to unit length.

    The same arithmetic as sentence-transformers' Pooling (sum / clamp(count, 1e-9))
    and Normalize (x / max(norm, 1e-12)).
    """
    weights = mask[:, :, None].astype(hidden.dtype)
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    mean = summed / counts
    norms = np.linalg.norm(mean, axis=1, keepdims=True)
    unit: FloatArray = (mean / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


class OnnxEncoder:
    """One ONNX file and its tokenizer: texts in, unit vectors out (no caching, no locks)."""

    def __init__(self, onnx_path: Path, spec: ModelSpec, *, threads: int = 0, quiet: bool = True) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.spec = spec
        tokenizer = Tokenizer.from_file(str(spec.folder / "tokenizer.json"))
        # What transformers' fast tokenizer sets for encode(padding=True, truncation=True, max_length=...)
        tokenizer.enable_truncation(max_length=spec.max_seq_length, stride=0, strategy="longest_first",
                                    direction="right")
        pad = _pad_token(spec.folder)
        pad_id = tokenizer.token_to_id(pad)
        if pad_id is None:
            raise ConfigError(
                f"{spec.folder}: the pad token {pad!r} is not in tokenizer.json; use RAG_EMBED_BACKEND=torch"
            )
        tokenizer.no_padding()  # tokenizer.json may pad to a fixed length; encode pads per batch itself
        self._pad_id = pad_id
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.log_severity_level = 3 if quiet else 2  # errors only unless verbose
        # Threads that wait for work sleep instead of spinning: a question is a few small
        # matrix products, and spinning only burns CPU that a busy machine needs elsewhere.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads > 0:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: Sequence[str], batch_size: int, max_tokens: int = MAX_BATCH_TOKENS) -> FloatArray:
        """Unit vectors of ``texts``, in order; at most ``batch_size`` texts per batch, grouped by length."""
        out = np.zeros((len(texts), self.spec.dimension), dtype=np.float32)
        if not texts:
            return out
        prepared = [t.lower() for t in texts] if self.spec.do_lower_case else list(texts)  # as sentence-transformers
        encodings = self._tokenizer.encode_batch(prepared)
        lengths = [len(e.ids) for e in encodings]
        for idx in length_batches(lengths, batch_size, max_tokens):
            width = lengths[idx[0]]
            ids = np.full((len(idx), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = lengths[i]
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
                types[row, :n] = encodings[i].type_ids
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = types
            hidden = self._session.run(None, feed)[0]
            out[idx] = mean_pool_normalize(hidden, mask)
        return out


def length_batches(lengths: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches of similar length, longest first (pure).

    A batch takes the next texts by descending length while it has fewer than
    ``max_rows`` rows, ``rows x its first (longest) length`` stays within ``max_tokens``
    and the next text is at most an eighth (or 8 pieces) shorter than the first, so no
    row is more than that padding; one text longer than ``max_tokens`` still gets a
    batch of its own. Equal lengths keep their input order.

    >>> length_batches([3, 9, 5, 9], max_rows=2, max_tokens=100)
    [[1, 3], [2, 0]]
    >>> length_batches([30, 90, 50, 90], max_rows=4, max_tokens=180)
    [[1, 3], [2], [0]]
    """
    if max_rows < 1 or max_tokens < 1:
        raise ValueError(f"max_rows ({max_rows}) and max_tokens ({max_tokens}) must be at least 1")
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        too_short = lengths[i] < width - max(8, width // 8)
        if current and (too_short or len(current) >= max_rows or (len(current) + 1) * width > max_tokens):
            batches.append(current)
            current = []
        if not current:
            width = lengths[i]
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _pad_token(folder: Path) -> str:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = folder / name
        if path.is_file():
            value = read_json(path).get("pad_token")
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str) and value:
                return value
    return "[PAD]"
