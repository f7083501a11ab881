"""The clip space on tiny CLIP and SigLIP models loaded through mmrag's real loading code."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests.space.tiny_models import make_tiny_clip, space_config

from mmrag.errors import ConfigError, QueryError
from mmrag.space.base import Space
from mmrag.space.clip import build_space
from mmrag.types import Channel

TEXTS = [
    "a photo of a cat",
    "the red train crosses the river at night",
    "piano",
    "coffee and bread in the kitchen, with cheese; then tea!",
    "a small boat on the sea under the moon and many stars",
    "dog",
    "winter snow on the mountain",
]


def _images(n: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    sizes = [(40, 30), (32, 32), (64, 48), (20, 50), (33, 33), (80, 60), (31, 47)]
    return [
        Image.fromarray(
            rng.integers(0, 256, (sizes[i % len(sizes)][1], sizes[i % len(sizes)][0], 3), dtype=np.uint8)
        )
        for i in range(n)
    ]


def _unit(x: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(x.float(), dim=-1).numpy()


def test_shapes_norms_dtype(clip_space: Space) -> None:
    assert clip_space.name == "clip"
    assert clip_space.dim == 24  # projection_dim of the tiny model
    text = clip_space.encode(Channel.TEXT, TEXTS)
    image = clip_space.encode(Channel.IMAGE, _images(5))
    assert text.shape == (len(TEXTS), 24) and image.shape == (5, 24)
    assert text.dtype == np.float32 and image.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-5)
    assert clip_space.encode(Channel.TEXT, []).shape == (0, 24)
    assert clip_space.encode(Channel.IMAGE, []).shape == (0, 24)


def test_matches_the_plain_transformers_pipeline(clip_space: Space) -> None:
    """Short texts and images give what the model's own tokenizer/processor path gives."""
    text_enc = clip_space.encoders[Channel.TEXT]
    bundle = text_enc.bundle  # type: ignore[attr-defined]
    with torch.inference_mode():
        tok = bundle.tokenizer(TEXTS, padding=True, return_tensors="pt")
        ref_text = _unit(bundle.model.get_text_features(**tok).pooler_output)
        pix = bundle.image_processor(images=_images(3), return_tensors="pt")
        ref_image = _unit(bundle.model.get_image_features(**pix).pooler_output)
    np.testing.assert_allclose(clip_space.encode(Channel.TEXT, TEXTS), ref_text, atol=1e-5)
    np.testing.assert_allclose(clip_space.encode(Channel.IMAGE, _images(3)), ref_image, atol=1e-5)


@pytest.mark.parametrize("channel", [Channel.TEXT, Channel.IMAGE])
def test_batch_equals_single_calls(clip_space: Space, channel: Channel) -> None:
    items = (
        TEXTS if channel is Channel.TEXT else _images(7)
    )  # 7 items, batch_size 4: a full and a partial batch
    batched = clip_space.encode(channel, items)
    single = np.concatenate([clip_space.encode(channel, [item]) for item in items])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def _long_text(words: int) -> str:
    vocab = ["cat", "dog", "river", "mountain", "train", "boat", "piano", "coffee", "snow", "garden"]
    return " ".join(vocab[(i * 7) % len(vocab)] for i in range(words))


def test_long_text_is_windowed_not_truncated(clip_space: Space) -> None:
    enc = clip_space.encoders[Channel.TEXT]
    windower = enc.windower  # type: ignore[attr-defined]
    assert windower.max_tokens == 77 and windower.window() == 75  # <|startoftext|> ... <|endoftext|>
    text = _long_text(3 * 75)  # each word is one token in the tiny vocab: exactly 3 windows
    windows, owners = windower.plan([text])
    assert len(windows) == 3 and owners.tolist() == [0, 0, 0]
    assert all(len(w) == 77 for w in windows)
    vec = enc.encode([text])[0]
    per_window = enc.encode_windows(windows)  # type: ignore[attr-defined]
    mean = per_window.mean(axis=0)
    np.testing.assert_allclose(vec, mean / np.linalg.norm(mean), atol=1e-5)
    first = per_window[0] / np.linalg.norm(per_window[0])
    assert not np.allclose(vec, first, atol=1e-3)  # not just the first window
    # a change at the very end (beyond 77 tokens) changes the vector: nothing was cut off
    changed = enc.encode([text.rsplit(" ", 1)[0] + " banana"])[0]
    assert not np.allclose(vec, changed, atol=1e-4)


def test_encoder_ids_are_stable_and_carry_name_and_fingerprint(
    tiny_clip_dir: Path, clip_space: Space
) -> None:
    again = build_space(space_config(name="clip", model=str(tiny_clip_dir), batch_size=16, device="cpu"))
    assert again.spec.to_dict() == clip_space.spec.to_dict()
    again.spec.check_compatible(clip_space.spec, "test")  # no SpaceMismatch
    ids = clip_space.spec.encoders
    assert re.fullmatch(r"clip:tiny-clip@[0-9a-f]{12}#text", ids["text"]), ids
    assert ids["image"] == ids["text"].replace("#text", "#image")
    np.testing.assert_allclose(
        again.encode(Channel.TEXT, TEXTS[:2]), clip_space.encode(Channel.TEXT, TEXTS[:2]), atol=1e-6
    )


def test_other_weights_give_another_id(tmp_path: Path, clip_space: Space) -> None:
    other = build_space(space_config(model=str(make_tiny_clip(tmp_path / "tiny-clip", seed=1)), device="cpu"))
    assert other.spec.encoders["text"] != clip_space.spec.encoders["text"]
    from mmrag.errors import SpaceMismatch

    with pytest.raises(SpaceMismatch):
        other.spec.check_compatible(clip_space.spec, "idx")


def test_transparency_is_laid_on_white_and_odd_modes_work(clip_space: Space) -> None:
    white = Image.new("RGB", (32, 32), (255, 255, 255))
    clear = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    out = clip_space.encode(
        Channel.IMAGE, [white, clear, Image.new("I;16", (32, 32), 1000), Image.new("L", (9, 9), 3)]
    )
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_bad_items_raise_clear_errors(clip_space: Space) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buf, format="PNG")
    truncated = Image.open(io.BytesIO(buf.getvalue()[:60]))
    with pytest.raises(QueryError, match="image #1 cannot be decoded"):
        clip_space.encode(Channel.IMAGE, [Image.new("RGB", (8, 8)), truncated])
    with pytest.raises(QueryError, match="image #0 is a str"):
        clip_space.encode(Channel.IMAGE, ["cat.png"])
    with pytest.raises(QueryError, match="query is empty"):
        clip_space.encode(Channel.TEXT, [""], query=True)
    with pytest.raises(QueryError, match="text #0 is a bytes"):
        clip_space.encode(Channel.TEXT, [b"abc"])


def test_siglip_family(siglip_space: Space) -> None:
    enc = siglip_space.encoders[Channel.TEXT]
    bundle = enc.bundle  # type: ignore[attr-defined]
    assert bundle.family == "siglip" and bundle.pad_to_max and bundle.max_tokens == 64
    assert siglip_space.spec.encoders["text"].startswith("siglip:tiny-siglip@")
    text = siglip_space.encode(Channel.TEXT, TEXTS)
    image = siglip_space.encode(Channel.IMAGE, _images(4))
    assert text.shape == (len(TEXTS), 32) and image.shape == (4, 32)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    with torch.inference_mode():  # SigLIP is fed fixed 64-token windows, as in training
        tok = bundle.tokenizer(TEXTS, padding="max_length", max_length=64, return_tensors="pt")
        ref = _unit(bundle.model.get_text_features(**tok).pooler_output)
    np.testing.assert_allclose(text, ref, atol=1e-5)
    np.testing.assert_allclose(
        text, np.concatenate([siglip_space.encode(Channel.TEXT, [t]) for t in TEXTS]), atol=1e-5
    )
    windows, _ = enc.windower.plan([_long_text(130)])  # type: ignore[attr-defined]
    assert [len(w) for w in windows] == [2 + 43, 2 + 44, 2 + 43]  # ceil(130/62) = 3 balanced windows


def test_not_a_dual_encoder_and_bad_device(tiny_clip_dir: Path) -> None:
    from mmrag.space.text import minilm_package_dir

    with pytest.raises(ConfigError, match="not a CLIP/SigLIP-style"):
        build_space(space_config(model=str(minilm_package_dir()), device="cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            build_space(space_config(model=str(tiny_clip_dir), device="cuda"))
    with pytest.raises(ConfigError, match="not a device"):
        build_space(space_config(model=str(tiny_clip_dir), device="banana"))


def test_broken_model_folders_give_model_not_found(tmp_path: Path, tiny_clip_dir: Path) -> None:
    import shutil

    from mmrag.errors import ModelNotFound

    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_clip_dir, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelNotFound, match="cannot load truncated"):
        build_space(space_config(model=str(truncated), device="cpu"))
    no_tokenizer = tmp_path / "no-tokenizer"  # transformers 5 would silently build an empty tokenizer
    shutil.copytree(tiny_clip_dir, no_tokenizer, ignore=shutil.ignore_patterns("tokenizer*"))
    with pytest.raises(ModelNotFound, match="no tokenizer files"):
        build_space(space_config(model=str(no_tokenizer), device="cpu"))
    no_processor = tmp_path / "no-processor"
    shutil.copytree(tiny_clip_dir, no_processor, ignore=shutil.ignore_patterns("preprocessor_config.json"))
    with pytest.raises(ModelNotFound, match="cannot load no-processor"):
        build_space(space_config(model=str(no_processor), device="cpu"))


def test_big_images_are_box_reduced_first_with_almost_no_change(clip_space: Space) -> None:
    from mmrag.space.clip import pre_shrink

    enc = clip_space.encoders[Channel.IMAGE]
    assert enc.side == 32  # type: ignore[attr-defined]  # the tiny processor's crop
    rng = np.random.default_rng(1)
    smooth = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    big = Image.fromarray(smooth).resize((900, 600), Image.BICUBIC)  # a smooth 900x600 picture
    assert pre_shrink(big, 32).size == (100, 67)  # 600 // 64 = 9: 9x smaller, still >= 2x the crop
    assert pre_shrink(Image.new("RGB", (100, 100)), 32).size == (100, 100)  # small ones untouched
    bundle = enc.bundle  # type: ignore[attr-defined]
    with torch.inference_mode():
        full = _unit(
            bundle.model.get_image_features(
                **bundle.image_processor(images=[big], return_tensors="pt")
            ).pooler_output
        )
    assert float(enc.encode([big])[0] @ full[0]) > 0.999


def test_concurrent_callers_get_the_same_vectors(clip_space: Space) -> None:
    """The server embeds queries from several threads: one encoder must serve them all."""
    from concurrent.futures import ThreadPoolExecutor

    expected = clip_space.encode(Channel.TEXT, TEXTS)
    long_text = _long_text(200)
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(lambda i: clip_space.encode(Channel.TEXT, [TEXTS[i % 7], long_text]), range(24))
        )
        images = list(pool.map(lambda _: clip_space.encode(Channel.IMAGE, _images(3)), range(6)))
    for i, got in enumerate(results):
        np.testing.assert_allclose(got[0], expected[i % 7], atol=1e-5)
    for got in images:
        np.testing.assert_allclose(got, images[0], atol=1e-6)
