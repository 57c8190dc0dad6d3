"""Batches by length for the ONNX encoder: little padding, same vectors."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.onnx_embedding import OnnxEmbedder
from index.onnx_encoder import MAX_BATCH_TOKENS, OnnxEncoder, length_batches
from tests.onnx_support import exported_cache


def _padded(lengths: list[int], batches: list[list[int]]) -> int:
    return sum(max(lengths[i] for i in b) * len(b) for b in batches)


def test_every_text_is_in_exactly_one_batch_longest_first() -> None:
    lengths = [5, 250, 17, 250, 3, 120, 121, 2, 64, 64]
    batches = length_batches(lengths, max_rows=3, max_tokens=10_000)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)
    assert batches[0] == [1, 3]  # equal lengths keep their input order; 121 would pad 129 pieces
    assert all(len(b) <= 3 for b in batches)
    for b in batches:  # no row is padded by more than an eighth of the batch's width (or 8 pieces)
        width = lengths[b[0]]
        assert all(width - lengths[i] <= max(8, width // 8) for i in b)


def test_a_batch_holds_at_most_max_tokens_word_pieces_unless_one_text_is_longer() -> None:
    lengths = [256] * 9 + [40] * 60 + [3000]
    batches = length_batches(lengths, max_rows=32, max_tokens=2048)
    assert batches[0] == [69]  # alone, and not refused
    assert all(len(b) * lengths[b[0]] <= 2048 for b in batches[1:])
    assert [len(b) for b in batches[1:]] == [8, 1, 32, 28]  # 2048 // 256 rows, then 32 of the short ones
    assert all(len(b) <= 32 for b in batches)
    assert length_batches([], 4, 10) == []
    with pytest.raises(ValueError, match="max_rows"):
        length_batches([1], 0, 10)


def test_padding_is_a_small_share_of_the_work_on_mixed_lengths() -> None:
    rng = random.Random(13)
    lengths = [rng.randint(20, 256) for _ in range(256)]
    arrival = [list(range(s, min(s + 32, 256))) for s in range(0, 256, 32)]  # 32 in the order they came
    ours = length_batches(lengths, 32, MAX_BATCH_TOKENS)
    real = sum(lengths)
    assert _padded(lengths, arrival) > 1.5 * real
    assert _padded(lengths, ours) < 1.05 * real


class _Recording:
    """An onnxruntime session that remembers the shape of every batch it was fed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.shapes: list[tuple[int, int]] = []
        self.real: list[int] = []

    def run(self, outputs: Any, feed: dict[str, Any]) -> Any:
        self.shapes.append(feed["input_ids"].shape)
        self.real.append(int(feed["attention_mask"].sum()))
        return self.inner.run(outputs, feed)


@pytest.mark.slow
def test_the_encoder_pads_each_batch_only_to_its_own_longest_text(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    embedder = OnnxEmbedder(cache_dir=exported_cache(tmp_path_factory))
    encoder = OnnxEncoder(Path(embedder.onnx_path), embedder.spec)
    rng = random.Random(7)
    # "word" is one word piece: these texts are 3 to 252 pieces long, in no order
    texts = [" ".join(["word"] * rng.randint(1, 250)) for _ in range(24)] + ["", "a"]
    one_by_one = np.stack([encoder.encode([t], 32)[0] for t in texts])
    recording = _Recording(encoder._session)
    encoder._session = recording
    together = encoder.encode(texts, 32)
    fed = sum(rows * width for rows, width in recording.shapes)
    assert fed <= 1.1 * sum(recording.real), recording.shapes
    assert all(rows <= 32 and (rows == 1 or rows * width <= MAX_BATCH_TOKENS) for rows, width in recording.shapes)
    assert np.abs(together - one_by_one).max() <= 1e-5
