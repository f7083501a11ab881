"""A long recording or video reports how far it has been read while it is indexed (``media`` events of
``Engine.add``), so an hour of speech does not look stuck at "0 of 1 files"."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import mmrag
from mmrag.config import load_config
from mmrag.ingest.pipeline import AddEvent, Ingestor
from mmrag.types import Modality, Segment, Span


def _wav(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * 16000)) / 16000
    pcm = (0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return path


class BurstLoader:
    """Stands in for the audio loader (whose real bursts are ~5 min of speech apart): the segments of two
    decoding windows, the second arriving half a second after the first."""

    def load(self, path: Path, config: object) -> Iterator[Segment]:
        for t0 in (0.0, 3.0, 6.0):
            yield Segment(source=str(path), modality=Modality.AUDIO, span=Span(t0=t0, t1=t0 + 2.6),
                          text=f"the first window says {t0:.0f}", meta={"kind": "speech"})
        time.sleep(0.5)
        yield Segment(source=str(path), modality=Modality.AUDIO, span=Span(t0=9.0, t1=11.4),
                      text="the second window says nine", meta={"kind": "speech"})


def test_a_recording_reports_where_each_decoding_window_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("av")
    wav = _wav(tmp_path / "long.wav", 12.0)
    monkeypatch.setattr(Ingestor, "_loader", lambda self, kind: BurstLoader())
    events: list[AddEvent] = []
    index = tmp_path / "idx"
    with mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={})) as eng:
        report = eng.add([wav], progress=events.append)
    assert list(report.added) == [str(wav)]
    media = [(e.path, e.segments, e.total) for e in events if e.kind == "media"]
    # where the first window ended (9 s: the last of its segments ends at 8.6 s), then done: 12 s of 12
    assert media == [(str(wav), 9, 12), (str(wav), 12, 12)]
    kinds = [e.kind for e in events]
    assert kinds.index("media") < kinds.index("file")  # reported while the file was being read


def test_a_text_file_sends_no_media_events(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("A short note about lighthouses.", encoding="utf-8")
    events: list[AddEvent] = []
    index = tmp_path / "idx"
    with mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={})) as eng:
        eng.add([tmp_path / "note.txt"], progress=events.append)
    assert [e.kind for e in events] == ["start", "file"]


def test_mmrag_add_prints_how_far_a_recording_has_been_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pipe or a log file (no terminal), plain lines: where each decoding window ended, then done."""
    pytest.importorskip("av")
    from typer.testing import CliRunner

    from mmrag.cli import app

    wav = _wav(tmp_path / "long.wav", 12.0)
    monkeypatch.setattr(Ingestor, "_loader", lambda self, kind: BurstLoader())
    result = CliRunner().invoke(app, ["add", str(wav), "--index", str(tmp_path / "idx")],
                                env={"MMRAG_SPACE_NAME": "minilm", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("seconds of long.wav read")]
    assert lines == ["seconds of long.wav read: 9/12 s (75%)", "seconds of long.wav read: 12/12 s (100%)"]
