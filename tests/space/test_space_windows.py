"""Pure windowing helpers: no model needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmrag.errors import QueryError
from mmrag.space.windows import Framing, check_texts, mean_by_owner, run_batches, split_windows


@pytest.mark.parametrize("n,size", [(1, 5), (5, 5), (6, 5), (11, 5), (226, 75), (1000, 254)])
def test_split_windows_covers_everything_in_balanced_windows(n: int, size: int) -> None:
    ids = list(range(n))
    windows = split_windows(ids, size)
    assert len(windows) == math.ceil(n / size)
    assert [i for w in windows for i in w] == ids  # nothing dropped, order kept
    lengths = [len(w) for w in windows]
    assert max(lengths) <= size
    assert max(lengths) - min(lengths) <= 1


def test_split_windows_edge_cases() -> None:
    assert split_windows([], 7) == [[]]
    assert split_windows([1, 2, 3, 4, 5, 6], 3) == [[1, 2, 3], [4, 5, 6]]
    assert split_windows([1, 2, 3, 4, 5, 6, 7], 3) == [[1, 2], [3, 4, 5], [6, 7]]
    with pytest.raises(ValueError):
        split_windows([1], 0)


def test_mean_by_owner_hand_computed() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]], dtype=np.float32)
    out = mean_by_owner(vectors, np.array([0, 0, 1]), 2)
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(out, [[s, s], [0.6, 0.8]], atol=1e-6)
    assert out.dtype == np.float32


def test_framing_wraps_prompt_and_content() -> None:
    f = Framing(prefix=(101,), suffix=(102,))
    assert f.wrap([5, 6], prompt=[9]) == [101, 9, 5, 6, 102]
    assert f.wrap([]) == [101, 102]


def test_run_batches_keeps_input_order_whatever_the_batch_size() -> None:
    windows = [[1] * n for n in (5, 1, 3, 2, 4)]
    calls: list[int] = []

    def forward(batch: list[list[int]]) -> np.ndarray:
        calls.append(len(batch))
        return np.array([[len(w), 1.0] for w in batch], dtype=np.float32)

    out = run_batches(windows, forward, batch_size=2)
    assert calls == [2, 2, 1]
    expected = np.array([[n, 1.0] for n in (5, 1, 3, 2, 4)], dtype=np.float32)
    np.testing.assert_allclose(out, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-6)


def test_check_texts_rejects_bad_input_with_clear_errors() -> None:
    with pytest.raises(QueryError, match="list of strings"):
        check_texts("one string", query=False)
    with pytest.raises(QueryError, match="text #1 is a int"):
        check_texts(["ok", 3], query=False)
    with pytest.raises(QueryError, match="query is empty"):
        check_texts(["  "], query=True)
    assert check_texts(["", "x"], query=False) == ["", "x"]
