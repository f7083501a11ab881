"""The classifier's fused logits and its fitting loss mask the ``text`` part the same way (one function)."""

from __future__ import annotations

import numpy as np

from mmrag.classify_model import Task, fit_weights, fused_logits, nll, part_cosines, softmax

RNG = np.random.default_rng(0)


def _task(n: int = 40, labels: int = 4) -> Task:
    y = RNG.integers(0, labels, n)
    onehot = np.eye(labels)[y]
    cos = {
        "conse": 0.3 * onehot + 0.1 * RNG.standard_normal((n, labels)),
        "text": 0.5 * onehot + 0.05 * RNG.standard_normal((n, labels)),
    }
    has_text = np.arange(n) % 3 != 0  # a third of the pictures have no words
    return Task(cos=cos, y=y, has_text=has_text)


def test_text_cosines_of_pictures_without_words_are_zero_and_others_untouched() -> None:
    t = _task()
    c = part_cosines("text", t.cos, t.has_text)
    assert c.dtype == np.float64 and c.shape == t.cos["text"].shape
    assert np.all(c[~t.has_text] == 0.0) and np.array_equal(c[t.has_text], t.cos["text"][t.has_text])
    assert np.array_equal(part_cosines("conse", t.cos, t.has_text), t.cos["conse"])  # other parts never masked
    assert np.array_equal(part_cosines("text", t.cos, None), t.cos["text"])  # no mask given: all count


def test_fused_logits_ignore_the_words_of_pictures_without_words() -> None:
    t = _task()
    w = {"conse": 12.0, "text": 30.0, "head": 5.0}  # "head": a part this task lacks, skipped
    z = fused_logits(w, t.cos, t.has_text)
    assert np.allclose(z[~t.has_text], 12.0 * t.cos["conse"][~t.has_text])
    assert np.allclose(z[t.has_text], 12.0 * t.cos["conse"][t.has_text] + 30.0 * t.cos["text"][t.has_text])


def test_nll_gradient_matches_finite_differences_with_the_same_mask() -> None:
    tasks = (_task(), _task(25, 3))
    parts = ("conse", "text")
    w = np.array([8.0, 20.0])
    value, grad = nll(w, parts, tasks)
    eps = 1e-5
    for i in range(len(parts)):
        step = np.zeros_like(w)
        step[i] = eps
        numeric = (nll(w + step, parts, tasks)[0] - nll(w - step, parts, tasks)[0]) / (2 * eps)
        assert abs(numeric - grad[i]) < 1e-6 * max(1.0, abs(numeric))
    manual = np.mean([-np.log(softmax(fused_logits(dict(zip(parts, w)), t.cos, t.has_text))[np.arange(len(t.y)), t.y]
                              + 1e-12).mean() for t in tasks])
    assert abs(value - manual) < 1e-9


def test_fitted_weights_lower_the_loss() -> None:
    tasks = (_task(80, 4),)
    fitted = fit_weights(["conse", "text"], tasks)
    assert nll(np.array([fitted["conse"], fitted["text"]]), ("conse", "text"), tasks)[0] < nll(
        np.array([10.0, 10.0]), ("conse", "text"), tasks)[0]
