"""Labelled sound clips rendered from a General MIDI soundfont: training and
test data for audio towers where no captioned sound collection can be had.

A GM soundfont (Debian's ``fluid-soundfont-gm``: FluidR3_GM.sf2, MIT) holds
real recorded samples of the 128 General MIDI instruments (piano, violin,
trumpet ... and sound effects: seashore, bird tweet, telephone ring,
helicopter, applause, gunshot) and 47 drum-kit sounds. Each clip plays one
instrument (a note, a short melody or a chord, at random pitch, loudness and
length) and is captioned with the instrument's name, its family and a few
templates ("the sound of a violin", "strings"). pyfluidsynth renders it in
process (one loaded synth for all clips), so thousands of clips take a
minute or two; names come from ``pretty_midi``.

Output: ``<out>/<slug>/<slug>-<k>.wav`` (16 kHz mono PCM) and
``<out>/pairs.jsonl`` with every caption as its own row
(``{"a": "violin/violin-3.wav", "b": "the sound of a violin"}``), the plain
name first, as ``mmrag train --modality audio`` expects. Sounds listed as
``unseen`` go to ``<out>/unseen.jsonl`` instead (one plain caption per clip):
instruments a tower never trains on, to measure how it transfers
(``mmrag train ... --eval-pairs OUT/unseen.jsonl``).
"""

from __future__ import annotations

import json
import re
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmrag.errors import TrainingError

SAMPLE_RATE = 16_000
DEFAULT_SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2")
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class SoundSpec:
    """One instrument to render: a GM program (0-127) or a drum note (``drum=True``, 35-81)."""

    number: int
    drum: bool = False

    @property
    def raw_name(self) -> str:
        import pretty_midi

        if self.drum:
            return str(pretty_midi.note_number_to_drum_name(self.number))
        return str(pretty_midi.program_to_instrument_name(self.number))

    @property
    def name(self) -> str:
        return plain_name(self.raw_name)

    @property
    def family(self) -> str:
        import pretty_midi

        return "drums" if self.drum else plain_name(pretty_midi.program_to_instrument_class(self.number))

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.raw_name.lower()).strip("-") + ("-drum" if self.drum else "")


def plain_name(raw: str) -> str:
    """``"Crash Cymbal 1"`` → ``"crash cymbal"``; ``"Lead 1 (square)"`` → ``"square lead"``. Pure."""
    s = raw.strip()
    m = re.match(r"^(Lead|Pad|FX)\s*\d+\s*\(([^)]+)\)$", s)
    if m:
        s = f"{m.group(2)} {'synth ' + m.group(1) if m.group(1) != 'FX' else 'synth effect'}"
    s = re.sub(r"\(([^)]*)\)", r"\1", s)
    s = re.sub(r"\d+", " ", s)
    return " ".join(s.lower().split())


def captions(spec: SoundSpec) -> list[str]:
    """Plain name first, then templates and the family. Pure (given the GM tables)."""
    name, family = spec.name, spec.family
    a = "an" if name[:1] in "aeiou" else "a"
    out = [name, f"the sound of {a} {name}", f"{a} {name} playing", f"{name} sound", f"{family}"]
    if spec.drum:
        out[2] = f"{a} {name} hit"
    return list(dict.fromkeys(out))


def all_specs() -> list[SoundSpec]:
    """All 128 GM programs and the 47 GM drum sounds (35-81)."""
    return [SoundSpec(p) for p in range(128)] + [SoundSpec(n, drum=True) for n in range(35, 82)]


def find_soundfont(path: str | Path | None = None) -> Path:
    for cand in ([path] if path else []) + list(DEFAULT_SOUNDFONTS):
        if cand and Path(cand).is_file():
            return Path(cand)
    raise TrainingError(
        f"no General MIDI soundfont found ({path or ', '.join(DEFAULT_SOUNDFONTS)}): "
        "apt-get install fluid-soundfont-gm, or pass --soundfont FILE.sf2"
    )


class Renderer:
    """One loaded fluidsynth synthesizer; ``render`` plays a note list into a mono clip."""

    def __init__(self, soundfont: str | Path | None = None) -> None:
        try:
            import fluidsynth
        except (ImportError, OSError) as exc:
            raise TrainingError(
                f"rendering soundfont clips needs pyfluidsynth and libfluidsynth ({exc}): "
                "pip install pyfluidsynth pretty_midi; apt-get install fluidsynth"
            ) from None
        self.synth = fluidsynth.Synth(samplerate=float(SAMPLE_RATE), gain=0.6)
        self.sfid = self.synth.sfload(str(find_soundfont(soundfont)))
        if self.sfid < 0:
            raise TrainingError(f"fluidsynth cannot load the soundfont {soundfont}")

    def _take(self, seconds: float) -> np.ndarray:
        n = max(1, round(seconds * SAMPLE_RATE))
        raw = np.asarray(self.synth.get_samples(n), dtype=np.float32).reshape(-1, 2)
        return raw.mean(axis=1) / 32768.0

    def render(self, spec: SoundSpec, notes: Sequence[tuple[float, float, int, int]], tail: float = 0.4) -> np.ndarray:
        """``notes``: ``(start s, length s, pitch, velocity)``; returns float32 samples in [-1, 1]."""
        ch = DRUM_CHANNEL if spec.drum else 0
        if spec.drum:
            self.synth.program_select(ch, self.sfid, 128, 0)
        else:
            self.synth.program_select(ch, self.sfid, 0, spec.number)
        events: list[tuple[float, bool, int, int]] = []
        for t0, length, pitch, vel in notes:
            events += [(t0, True, pitch, vel), (t0 + length, False, pitch, 0)]
        events.sort(key=lambda e: (e[0], e[1]))
        parts, now = [], 0.0
        for t, on, pitch, vel in events:
            if t > now:
                parts.append(self._take(t - now))
                now = t
            if on:
                self.synth.noteon(ch, pitch, vel)
            else:
                self.synth.noteoff(ch, pitch)
        parts.append(self._take(tail))
        self.synth.all_notes_off(ch)
        self._take(0.3)  # let every voice die away before the next clip
        return np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32)


def random_notes(spec: SoundSpec, rng: np.random.Generator) -> list[tuple[float, float, int, int]]:
    """A note, a short melody or a chord (drums: one to four hits) at random pitch, loudness and length."""
    vel = int(rng.integers(60, 120))
    if spec.drum:
        hits = int(rng.integers(1, 5))
        gap = float(rng.uniform(0.15, 0.45))
        return [(i * gap, 0.1, spec.number, vel) for i in range(hits)]
    base = int(rng.integers(48, 76))
    kind = rng.choice(["note", "melody", "chord"])
    if kind == "note":
        return [(0.0, float(rng.uniform(0.5, 2.0)), base, vel)]
    if kind == "chord":
        length = float(rng.uniform(0.8, 2.0))
        return [(0.0, length, base + step, vel) for step in (0, 4, 7)]
    step_s = float(rng.uniform(0.2, 0.45))
    pitches = base + np.cumsum(rng.choice([-5, -3, -2, 2, 3, 4, 5], size=4))
    return [(i * step_s, step_s, int(np.clip(p, 30, 96)), vel) for i, p in enumerate(pitches)]


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def render_sound_pairs(
    out: str | Path,
    specs: Sequence[SoundSpec] | None = None,
    clips_per_sound: int = 12,
    seed: int = 0,
    soundfont: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    unseen: Sequence[SoundSpec] = (),
) -> Path:
    """Render ``clips_per_sound`` clips of each spec (and of each ``unseen`` one) into ``out``;
    returns ``out/pairs.jsonl`` (``unseen`` clips go to ``out/unseen.jsonl``)."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    held = list(unseen)
    specs = [s for s in (list(specs) if specs is not None else all_specs()) if s not in held]
    renderer = Renderer(soundfont)
    rng = np.random.default_rng(seed)
    rows: dict[bool, list[dict[str, str]]] = {False: [], True: []}
    total = (len(specs) + len(held)) * clips_per_sound
    done = 0
    for spec in specs + held:
        is_unseen = spec in held
        folder = root / spec.slug
        folder.mkdir(exist_ok=True)
        caps = captions(spec)[:1] if is_unseen else captions(spec)
        for k in range(clips_per_sound):
            clip = renderer.render(spec, random_notes(spec, rng))
            rel = f"{spec.slug}/{spec.slug}-{k}.wav"
            write_wav(root / rel, clip)
            rows[is_unseen] += [{"a": rel, "b": c} for c in caps]
            done += 1
            if progress:
                progress("render", done, total)
    for is_unseen, name in ((False, "pairs.jsonl"), (True, "unseen.jsonl")):
        if rows[is_unseen] or not is_unseen:
            (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows[is_unseen]), encoding="utf-8")
    return root / "pairs.jsonl"


__all__ = [
    "SoundSpec",
    "all_specs",
    "captions",
    "find_soundfont",
    "plain_name",
    "random_notes",
    "render_sound_pairs",
    "write_wav",
]
