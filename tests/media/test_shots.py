"""shots.py: signatures, distances and the cut detector, on synthetic frames with known cuts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmrag.ingest.shots import (
    SIG_DIM,
    Shot,
    ShotDetector,
    brightness_only,
    detect_shots,
    distance,
    rgb_to_hsv,
    sharpness,
    signature,
)


def solid(rgb: tuple[int, int, int], h: int = 36, w: int = 64) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def test_hsv_of_primaries() -> None:
    hsv = rgb_to_hsv(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]]], np.uint8))[0]
    assert np.allclose(hsv[:, 0], [0.0, 1 / 3, 2 / 3, 0.0], atol=1e-6)
    assert np.allclose(hsv[:, 1], [1, 1, 1, 0])
    assert np.allclose(hsv[:, 2], [1, 1, 1, 128 / 255])


def test_signature_and_distance_values() -> None:
    red, blue = signature(solid((255, 0, 0))), signature(solid((0, 0, 255)))
    assert red.shape == (SIG_DIM,)
    assert distance(red, red) == 0.0
    # same saturation and value, disjoint hue: colour part = 1/3; luma grid differs by |0.299-0.114|
    assert distance(red, blue) == pytest.approx(1 / 3 + (0.299 - 0.114), abs=1e-3)
    assert distance(signature(solid((0, 0, 0))), signature(solid((255, 255, 255)))) == 1.0  # clipped
    with pytest.raises(ValueError):
        signature(np.zeros((4, 4), np.uint8))


def test_layout_change_is_seen_even_with_the_same_colours() -> None:
    left = solid((20, 20, 20))
    left[:, 32:] = 230
    right = left[:, ::-1].copy()  # same histogram, mirrored layout
    d = distance(signature(left), signature(right))
    assert d == pytest.approx((230 - 20) / 255, abs=0.02)


def test_detector_finds_hard_cuts_and_respects_min_and_max() -> None:
    rng = np.random.default_rng(0)
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    times, sigs = [], []
    for k, c in enumerate(colours):  # 3 scenes of 5 s, sampled at 4 fps, a little noise
        for i in range(20):
            frame = np.clip(solid(c).astype(int) + rng.integers(-8, 9, (36, 64, 3)), 0, 255).astype(np.uint8)
            times.append(k * 5 + i * 0.25)
            sigs.append(signature(frame))
    shots = detect_shots(times, sigs, 15.0, threshold=0.35, min_shot_s=1.0, max_shot_s=30.0)
    assert shots == [Shot(0.0, 5.0), Shot(5.0, 10.0), Shot(10.0, 15.0)]
    capped = detect_shots(times, sigs, 15.0, max_shot_s=2.0)
    assert all(s.t1 - s.t0 <= 2.0 + 1.0 for s in capped)  # max plus at most a merged sliver
    assert {5.0, 10.0} <= {s.t0 for s in capped}
    # a cut 0.5 s after the previous one is ignored under min_shot_s=1
    flick = (
        [signature(solid(colours[0]))] * 4
        + [signature(solid(colours[1]))] * 2
        + [signature(solid(colours[2]))] * 8
    )
    ts = [i * 0.25 for i in range(len(flick))]
    assert [s.t0 for s in detect_shots(ts, flick, 3.5, min_shot_s=1.0)] == [0.0, 1.0]


def test_busy_motion_does_not_cut_but_a_real_cut_does() -> None:
    rng = np.random.default_rng(1)
    det = ShotDetector(threshold=0.2, min_shot_s=0.5, max_shot_s=100.0)
    cuts = []
    base = rng.integers(0, 255, (36, 64, 3)).astype(np.uint8)
    for i in range(40):  # a fast pan: content shifts every sample
        frame = np.roll(base, shift=3 * i, axis=1)
        cut = det.feed(i * 0.25, signature(frame))
        if cut is not None:
            cuts.append(cut)
    assert cuts == []
    assert det.feed(10.0, signature(solid((250, 250, 0)))) == 10.0


def test_trailing_sliver_joins_previous_shot() -> None:
    a, b = signature(solid((200, 0, 0))), signature(solid((0, 0, 200)))
    ts = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    sigs = [a] * 8 + [b]
    assert detect_shots(ts, sigs, 2.1) == [Shot(0.0, 2.1)]


def test_sharpness_prefers_detail() -> None:
    flat = np.full((32, 32), 128, np.uint8)
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert sharpness(flat) == 0.0 and sharpness(checker) > 1000


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError):
        ShotDetector(threshold=0.0)
    with pytest.raises(ValueError):
        ShotDetector(min_shot_s=5.0, max_shot_s=2.0)


def _fade_sequence(
    rng: np.random.Generator, steps: int = 6, intro_black: bool = False
) -> tuple[list[float], list[np.ndarray], float, float]:
    """Scene A 3 s, a fade to black over ``steps`` samples, 0.5 s black, a fade in to scene B
    (same palette, so only the darkness tells them apart) over ``steps``, B 3 s; 4 fps.
    Returns (times, signatures, the last full-brightness A time, the first full-brightness B time)."""
    a = np.clip(solid((150, 90, 60)).astype(int) + rng.integers(-30, 31, (36, 64, 3)), 0, 255)
    b = np.clip(solid((140, 95, 70)).astype(int) + rng.integers(-30, 31, (36, 64, 3)), 0, 255)
    ramp = np.linspace(0, 1, steps + 1)[1:]
    intro = [0.0] * 4 + list(ramp) if intro_black else []
    levels = intro + [1.0] * 12 + list(ramp[::-1] - ramp[0]) + [0.0] * 2
    frames = [(a * v).astype(np.uint8) for v in levels]
    last_a = len(intro) + 11
    frames += [(b * v).astype(np.uint8) for v in ramp] + [b.astype(np.uint8)] * 12
    first_b = len(frames) - 12
    times = [i * 0.25 for i in range(len(frames))]
    return times, [signature(f) for f in frames], times[last_a], times[first_b]


def _first_visible_after_black(times: list[float], sigs: list[np.ndarray], after: float) -> float:
    det = ShotDetector()
    seen_black = False
    for t, s in zip(times, sigs):
        if t > after:
            if det.is_black(s):
                seen_black = True
            elif seen_black:
                return t
    raise AssertionError("no black run in the sequence")


@pytest.mark.parametrize("intro_black", [False, True])
@pytest.mark.parametrize("steps", [2, 6, 16, 32])
def test_a_fade_through_black_is_one_cut_where_the_picture_returns(steps: int, intro_black: bool) -> None:
    times, sigs, last_a, first_b = _fade_sequence(np.random.default_rng(steps), steps, intro_black)
    big_steps = [distance(x, y) for x, y in itertools.pairwise(sigs)]
    assert max(big_steps) > 0.35  # the fades do contain steps the content test alone would cut on
    starts = [s.t0 for s in detect_shots(times, sigs, times[-1] + 0.25)]
    assert starts == [0.0, _first_visible_after_black(times, sigs, last_a)]  # a black opening is not cut either
    assert last_a < starts[1] <= first_b


def test_a_hard_cut_to_black_waits_for_the_picture() -> None:
    a, b, black = signature(solid((200, 40, 40))), signature(solid((40, 40, 200))), signature(solid((0, 0, 0)))
    seq = [a] * 8 + [black] * 3 + [b] * 8
    times = [i * 0.25 for i in range(len(seq))]
    assert [s.t0 for s in detect_shots(times, seq, 5.0)] == [0.0, 2.75]  # where b shows, not at 2.0
    det = ShotDetector(black_level=0.0)  # black detection off: the black frame opens a shot
    assert [t for t, s in zip(times, seq) if det.feed(t, s) is not None] == [2.0]


def test_brightness_only_tells_a_fade_step_from_a_cut() -> None:
    rng = np.random.default_rng(5)
    scene = np.clip(solid((150, 90, 60)).astype(int) + rng.integers(-30, 31, (36, 64, 3)), 0, 255)
    other = np.clip(solid((140, 95, 70)).astype(int) + rng.integers(-30, 31, (36, 64, 3)), 0, 255)
    full, dim = signature(scene.astype(np.uint8)), signature((scene * 0.4).astype(np.uint8))
    assert brightness_only(full, dim) and distance(full, dim) > 0.2
    assert not brightness_only(full, signature(other.astype(np.uint8)))  # a similar palette, another scene
    left = solid((20, 20, 20))
    left[:, 32:] = 230
    assert not brightness_only(signature(left), signature(left[:, ::-1].copy()))  # same colours, new layout
    assert not brightness_only(full, signature(solid((0, 0, 0))))


def test_a_dark_scene_with_a_lit_shape_is_not_black_and_cuts_at_once() -> None:
    night = solid((8, 8, 12))
    night[10:20, 20:30] = (230, 200, 90)  # a lit window in the dark
    det = ShotDetector()
    assert det.is_black(signature(solid((6, 6, 6)))) and not det.is_black(signature(night))
    day = signature(solid((120, 160, 210)))
    seq = [day] * 8 + [signature(night)] * 8
    times = [i * 0.25 for i in range(len(seq))]
    assert [s.t0 for s in detect_shots(times, seq, 4.0)] == [0.0, 2.0]
