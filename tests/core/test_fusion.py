"""Calibration and fusion: values checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mmrag.retrieve.fusion import (
    MIN_STD,
    Background,
    Candidate,
    background,
    calibrate,
    fuse_calibrated,
    fuse_rrf,
)


def test_background_mean_and_std_by_hand() -> None:
    q = np.array([1.0, 0.0], dtype=np.float32)
    sample = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-0.6, 0.8]], dtype=np.float32)
    # cosines: 1, 0, 0.6, -0.6 -> mean 0.25, population std sqrt((0.5625+0.0625+0.1225+0.7225)/4)
    bg = background(q, sample)
    assert bg.mean == pytest.approx(0.25)
    assert bg.std == pytest.approx(np.sqrt((0.5625 + 0.0625 + 0.1225 + 0.7225) / 4), rel=1e-6)


def test_background_degenerate_sample_is_conservative() -> None:
    bg = background(np.ones(3), np.zeros((1, 3)))
    assert bg == Background(0.0, MIN_STD * 5)
    same = background(np.array([1.0, 0.0]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert same.std == MIN_STD  # zero spread is floored, never divides by zero


def test_calibrate_is_z_score() -> None:
    z = calibrate([0.5, 0.2, 0.1], Background(0.1, 0.2))
    np.testing.assert_allclose(z, [2.0, 0.5, 0.0])


def test_modality_gap_cancels_out() -> None:
    """A text list with high raw cosines but a high background must not bury an
    image list whose best match stands far out of its own background."""
    text = [Candidate("doc-a", 0.62, float(calibrate([0.62], Background(0.55, 0.05))[0]))]  # z = 1.4
    image = [Candidate("img-b", 0.31, float(calibrate([0.31], Background(0.18, 0.03))[0]))]  # z = 4.33
    fused = fuse_calibrated({"text": text, "image": image})
    assert [key for key, _, _ in fused] == ["img-b", "doc-a"]
    assert fused[0][1] == pytest.approx(13 / 3)
    assert fused[0][2] == {"image": 0.31}


def test_segment_takes_its_best_channel_and_keeps_raw_scores() -> None:
    fused = fuse_calibrated(
        {"text": [Candidate("s", 0.4, 1.0)], "image": [Candidate("s", 0.3, 3.0), Candidate("t", 0.2, 2.0)]}
    )
    assert fused[0] == ("s", 3.0, {"text": 0.4, "image": 0.3})
    assert fused[1][0] == "t"


def test_lexical_bonus_is_relative_to_best_lexical_match() -> None:
    dense = {"text": [Candidate("a", 0.5, 2.0), Candidate("b", 0.45, 1.8)]}
    lexical = [Candidate("b", 8.0, 8.0), Candidate("c", 2.0, 2.0)]
    fused = {k: s for k, s, _ in fuse_calibrated(dense, lexical, lexical_weight=1.0)}
    assert fused["b"] == pytest.approx(2.8)  # 1.8 + 1.0 * 8/8
    assert fused["a"] == pytest.approx(2.0)
    assert fused["c"] == pytest.approx(0.25)  # only lexical: 0 + 2/8


def test_rrf_by_hand() -> None:
    lists = {
        "x": [Candidate("a", 0.9, 0), Candidate("b", 0.8, 0)],
        "y": [Candidate("b", 5.0, 0), Candidate("c", 4.0, 0), Candidate("b", 3.0, 0)],
    }
    fused = fuse_rrf(lists, rrf_k=60)
    scores = {k: s for k, s, _ in fused}
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["c"] == pytest.approx(1 / 62)  # duplicate 'b' in y does not shift ranks
    assert [k for k, _, _ in fused] == ["b", "a", "c"]


def test_ties_break_deterministically() -> None:
    fused = fuse_calibrated({"text": [Candidate("z", 0.1, 1.0), Candidate("y", 0.1, 1.0)]})
    assert [k for k, _, _ in fused] == ["y", "z"]


def test_equal_scores_are_ordered_by_the_other_lists_not_by_id() -> None:
    """Three recordings whose names say the same word tie in the text list; their sounds decide the order."""
    text = [Candidate(k, 0.3, 0.87) for k in ("a", "b", "c")]
    audio = [Candidate("c", 0.2, 0.5), Candidate("a", 0.1, -0.2), Candidate("b", 0.15, 0.1)]
    fused = fuse_calibrated({"text": text, "audio": audio})
    assert [k for k, _, _ in fused] == ["c", "b", "a"]
    assert [s for _, s, _ in fused] == [0.87, 0.87, 0.87]  # the score itself is still the best list's
    higher = fuse_calibrated({"text": text, "audio": [Candidate("a", 0.4, 0.9)]})
    assert next(k for k, _, _ in higher) == "a"  # a better best list still wins outright


# ---- small channels and labels (fusion.top_up, fusion.calibrate_labels)


def test_top_up_fills_a_small_sample_from_the_reference_in_order() -> None:
    from mmrag.retrieve.fusion import top_up

    own = np.eye(4, dtype=np.float32)[:2]
    ref = np.tile(np.eye(4, dtype=np.float32)[3], (10, 1)) * np.arange(1, 11, dtype=np.float32)[:, None]
    out = top_up(own, ref, size=5)
    assert out.shape == (5, 4)
    np.testing.assert_array_equal(out[:2], own)  # the channel's own vectors stay first
    np.testing.assert_array_equal(out[2:, 3], [1.0, 2.0, 3.0])  # then the reference's first rows
    assert top_up(np.eye(4, dtype=np.float32)[:0], ref, size=3).shape == (3, 4)  # an empty channel: reference only


def test_top_up_leaves_a_big_enough_sample_or_a_bad_reference_alone() -> None:
    from mmrag.retrieve.fusion import top_up

    own = np.ones((6, 4), dtype=np.float32)
    np.testing.assert_array_equal(top_up(own, np.zeros((10, 4), dtype=np.float32), size=6), own)
    np.testing.assert_array_equal(top_up(own[:2], None, size=6), own[:2])
    np.testing.assert_array_equal(top_up(own[:2], np.zeros((10, 3), dtype=np.float32), size=6), own[:2])  # other width


def test_topping_up_restores_a_clear_match_drowned_by_its_own_twins() -> None:
    """4 pictures, 2 of them the match (cosine 0.62): alone they are the whole background (z ~1);
    with typical pictures around them (cosines ~0.16) the match stands out."""
    from mmrag.retrieve.fusion import top_up

    rng = np.random.default_rng(0)
    q = np.zeros(8, dtype=np.float32)
    q[0] = 1.0

    def unit_with(cos: float) -> np.ndarray:
        v = rng.normal(size=8).astype(np.float32)
        v[0] = 0.0
        v = v / np.linalg.norm(v) * np.sqrt(1 - cos**2)
        v[0] = cos
        return v

    own = np.stack([unit_with(c) for c in (0.62, 0.62, 0.21, 0.15)])
    ref = np.stack([unit_with(c) for c in rng.normal(0.16, 0.1, size=200).clip(-0.9, 0.9)])
    alone = float(calibrate([0.62], background(q, own))[0])
    topped = float(calibrate([0.62], background(q, top_up(own, ref, 64)))[0])
    assert alone < 1.1
    assert topped > 3.0


def test_label_like_counts_words() -> None:
    from mmrag.retrieve.fusion import LABEL_WORDS, label_like

    assert label_like("coffee", "image") and label_like("rain on a roof", "audio", "sound")
    assert not label_like("ten of clubs", "audio", "speech")  # what was said is content
    assert not label_like("bikes", "video")  # a shot's text may be what was said in it
    assert label_like(" ".join(["w"] * LABEL_WORDS), "image")
    assert not label_like(" ".join(["w"] * (LABEL_WORDS + 1)), "image")
    assert not label_like("", "image") and not label_like(None, "image") and not label_like("   ", "image")
    assert not label_like("buy milk", "text")  # a note is a passage of its channel, however short


def test_a_label_must_stand_out_among_labels_too() -> None:
    from mmrag.retrieve.fusion import calibrate_labels

    z = np.array([4.25, 9.0, 3.0])  # against the channel (passages)
    z_labels = np.array([1.4, 7.6, 8.0])  # against a background of labels
    out = calibrate_labels(z, z_labels, [True, True, False])
    np.testing.assert_allclose(out, [1.4, 7.6, 3.0])  # a passage (last) keeps its own score


def test_the_entry_of_an_option_asked_about_gets_its_bonus() -> None:
    dense = {"text->text": [Candidate("a", 0.5, 2.0), Candidate("b", 0.4, 1.5)]}
    plain = fuse_calibrated(dense)
    assert [k for k, _, _ in plain] == ["a", "b"]
    fused = fuse_calibrated(dense, entries=["b"], entry_weight=1.0)
    assert [(k, round(s, 6)) for k, s, _ in fused] == [("b", 2.5), ("a", 2.0)]
    assert fused[0][2] == {"text->text": 0.4}  # a bonus, not a channel's score
    assert [k for k, _, _ in fuse_calibrated(dense, entries=["b"], entry_weight=0.0)] == ["a", "b"]
