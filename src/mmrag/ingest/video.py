"""Video files (mp4, mkv, webm, mov, avi ...): one segment per shot.

Frames stream through PyAV once. Every ``1/SAMPLE_FPS`` s a frame is shrunk
to 64×36 for its shot signature (``shots.py``); about once a second a frame is
kept, downscaled to at most ``KEYFRAME_PX``, as a keyframe candidate for the
current shot (the candidate list is thinned to ``MAX_CANDIDATES``, so memory
does not grow with shot length). When a shot closes, the candidate nearest
its middle (the sharpest one in the middle half of the shot) becomes ``segment.image`` for
the image tower, and a JPEG of it the thumbnail. The audio track, when there
is one, is transcribed (``speech.py``, with ``ingest.beam_size`` and the n-best
alternatives of unsure words, as for recordings), unless the video has subtitles beside it
(``film.srt`` / ``film.vtt``): then their cues are its transcript (exact words, any language;
``meta.caption_file`` names the file). Each shot's ``text`` is the
speech inside ``[t0, t1]`` plus file-name words; a shot in which something is
said gets ``meta["kind"] = "speech"`` and the alternatives (``shot_heard``). Up to eight 30 s windows of the
soundtrack where little is said are kept too (as for audio files, about 15 MB
at most) and become ``meta["needs"] = "audio"`` segments: in a space with an
audio tower they find the moment by its sound (a dog barking, applause); in
one without, the pipeline drops them.

A file whose video stream breaks part-way keeps the shots decoded before the
break (logged); a file that yields no frame at all is an ``IngestError``.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest import avio, speech
from mmrag.ingest.audio import WindowKeeper, sound_segments, sound_windows
from mmrag.ingest.captions import subtitles_for
from mmrag.ingest.image import make_thumbnail
from mmrag.ingest.shots import Shot, ShotDetector, sharpness, signature, tail_bounds
from mmrag.types import HEARD_SEPARATOR, Modality, Segment, Span

log = logging.getLogger(__name__)

SAMPLE_FPS = 4.0  # frames per second looked at for cut detection
CANDIDATE_FPS = 1.0  # keyframe candidates per second (before thinning)
MAX_CANDIDATES = 16
KEYFRAME_PX = 512
SIG_SIZE = (64, 36)


@dataclass
class _Candidate:
    t: float
    image: Any  # PIL RGB
    sharp: float


class _ShotBuffer:
    """Keyframe candidates of the shot in progress, thinned to a bounded count."""

    def __init__(self) -> None:
        self.items: list[_Candidate] = []
        self.step = 1.0 / CANDIDATE_FPS
        self.next_t = -1.0

    def offer(self, t: float, frame: Any) -> None:
        if t < self.next_t:
            return
        self.next_t = t + self.step
        w, h = frame.width, frame.height
        scale = min(1.0, KEYFRAME_PX / max(w, h))
        small = frame.reformat(
            width=max(2, int(w * scale)) // 2 * 2, height=max(2, int(h * scale)) // 2 * 2, format="rgb24"
        )
        img = small.to_image()
        gray = np.asarray(img.convert("L").resize((160, 90)))
        self.items.append(_Candidate(t, img, sharpness(gray)))
        if len(self.items) > MAX_CANDIDATES:
            self.items = self.items[::2]
            self.step *= 2

    def pick(self, shot: Shot) -> _Candidate | None:
        inside = [c for c in self.items if shot.t0 <= c.t < shot.t1] or self.items
        if not inside:
            return None
        quarter = (shot.t1 - shot.t0) / 4
        near = [c for c in inside if abs(c.t - shot.middle) <= quarter]  # the middle half of the shot
        if not near:
            return min(inside, key=lambda c: abs(c.t - shot.middle))
        return max(near, key=lambda c: (c.sharp, -abs(c.t - shot.middle)))  # ties: nearest the middle

    def reset(self) -> None:
        self.items = []
        self.step = 1.0 / CANDIDATE_FPS
        self.next_t = -1.0


def spoken_in(shot: Shot, speech_segs: list[speech.SpeechSegment]) -> list[speech.SpeechSegment]:
    """The speech segments overlapping ``shot``, in time order. Pure."""
    return [s for s in speech_segs if s.t1 > shot.t0 and s.t0 < shot.t1]


def shot_text(shot: Shot, speech_segs: list[speech.SpeechSegment], words: str) -> str:
    """Speech overlapping ``shot`` (in time order) then the file-name words. Pure."""
    return " ".join([*(s.text for s in spoken_in(shot, speech_segs)), words]).strip()


def shot_heard(shot: Shot, speech_segs: list[speech.SpeechSegment]) -> dict[str, str]:
    """The meta of a shot in which something is said, as for a recording's speech: ``kind = speech``
    (the sound-alike score reads its transcript) and the recogniser's alternatives of the speech
    overlapping it (``heard_also``, full-text indexed through ``Row.heard``). Pure."""
    said = spoken_in(shot, speech_segs)
    if not said:
        return {}
    alts = [a for s in said for a in s.alternatives]
    return {"kind": "speech", **({"heard_also": HEARD_SEPARATOR.join(alts)} if alts else {})}


class VideoLoader:
    """Loader for the ``video`` kind."""

    kinds: tuple[str, ...] = ("video",)

    def __init__(self) -> None:
        self.stats: dict[str, float] = {}  # last file: frames decoded, signatures, keyframes (for bench/)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        speech.check_file(path, config.max_file_mb)
        info = speech.probe(path)
        if not info.has_video:
            if info.has_audio:  # an audio-only mp4/webm: index it as audio
                from mmrag.ingest.audio import AudioLoader

                yield from AudioLoader().load(path, config)
                return
            raise IngestError(source, "has no video or audio track; nothing to index")
        said: list[speech.SpeechSegment] = []
        started = time.perf_counter()
        keeper = WindowKeeper(sound_windows(info.duration))
        regions: list[tuple[float, float]] = []
        subtitles = subtitles_for(path, config)
        if subtitles is not None:  # the file's own transcript: exact words, any language; nothing to hear
            said = [speech.SpeechSegment(c.t0, c.t1, c.text) for c in subtitles[1]]
            regions = [(s.t0, s.t1) for s in said]
            if info.has_audio:
                avio.feed_audio(path, keeper, source)
        elif info.has_audio:
            try:
                said = list(
                    speech.transcribe_file(
                        path, model=config.whisper_model, vad=config.vad, language=config.language,
                        regions_out=regions, chunk_hook=keeper,
                        beam_size=config.beam_size, alternatives=config.speech_alternatives,
                    )
                )
            except IngestError as exc:  # a broken audio track must not lose the pictures
                log.warning("%s: audio track skipped: %s", source, exc.reason)
        speech_s = time.perf_counter() - started
        words = speech.tags_text(path, info.tags)
        for shot, cand in self._shots(path, config):
            seg_text = shot_text(shot, said, words)
            yield Segment(
                source=source,
                modality=Modality.VIDEO,
                span=Span(t0=round(shot.t0, 3), t1=round(shot.t1, 3)),
                text=seg_text,
                image=cand.image if cand else None,
                thumbnail=make_thumbnail(cand.image, config.thumbnail_px) if cand else None,
                meta={**({"keyframe_t": f"{cand.t:.2f}"} if cand else {}), **shot_heard(shot, said),
                      **({"caption_file": subtitles[0].name} if subtitles is not None else {})},
            )
        # the soundtrack where little is said, for an audio tower (dropped by the pipeline when the space has none)
        yield from sound_segments(source, Modality.VIDEO, keeper, regions, words, has_speech=bool(said),
                                  meta={"needs": "audio"})
        self.stats["speech_s"] = round(speech_s, 3)
        self.stats["total_s"] = round(time.perf_counter() - started, 3)
        decoded = float(self.stats.get("duration", 0.0))
        if info.duration > 0 and decoded < 0.9 * info.duration - 1.0:
            log.warning(
                "%s: only %.1f s of its %.1f s decoded (the file looks truncated); indexed what was there",
                source,
                decoded,
                info.duration,
            )

    def _shots(self, path: Path, config: IngestConfig) -> Iterator[tuple[Shot, _Candidate | None]]:
        av = avio.require_av()
        source = str(path)
        det = ShotDetector(config.shot_threshold, config.min_shot_s, config.max_shot_s)
        buf = _ShotBuffer()
        frames = sigs = 0
        start: float | None = None
        last_t = 0.0
        frame_dur = 0.04
        next_sig = -1.0
        pending: tuple[Shot, _Candidate | None] | None = None  # held back one step to merge a final sliver
        try:
            container = av.open(str(path), metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise IngestError(
                source, f"not a readable video ({avio.short_error(exc)}); it may be truncated or corrupt"
            ) from None
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if stream.average_rate:
                frame_dur = float(1 / stream.average_rate)
            try:
                for frame in container.decode(stream):
                    t = frame.time if frame.time is not None else frames * frame_dur
                    frames += 1
                    last_t = max(last_t, t)
                    if start is None:
                        start = t
                    if t >= next_sig:  # the first frame at or after each 1/SAMPLE_FPS tick
                        next_sig = (math.floor(t * SAMPLE_FPS + 1e-6) + 1) / SAMPLE_FPS
                        sigs += 1
                        small = frame.reformat(
                            width=SIG_SIZE[0], height=SIG_SIZE[1], format="rgb24"
                        ).to_ndarray()
                        cut = det.feed(t, signature(small))
                        if cut is not None:
                            shot = Shot(start, cut)
                            if pending is not None:
                                yield pending
                            pending = (shot, buf.pick(shot))
                            buf.reset()
                            start = cut
                    buf.offer(t, frame)
            except av.FFmpegError as exc:
                if frames == 0:
                    raise IngestError(
                        source,
                        f"no video frame could be decoded ({avio.short_error(exc)}); the file may be truncated or corrupt",
                    ) from None
                log.warning(
                    "%s: video decoding stopped at %.1f s (%s); keeping the shots before it",
                    source,
                    last_t,
                    exc,
                )
        finally:
            container.close()
        if frames == 0 or start is None:
            raise IngestError(source, "no video frame could be decoded; the file may be truncated or corrupt")
        end = last_t + frame_dur
        self.stats = {"frames": frames, "signatures": sigs, "duration": end}
        if pending is None:
            yield Shot(start, end), buf.pick(Shot(start, end))
            return
        bounds = tail_bounds(pending[0].t0, start, end, config.min_shot_s, config.max_shot_s)
        if len(bounds) == 3 and bounds[1] == start:  # the last shot is long enough: keep both as they are
            yield pending
            yield Shot(start, end), buf.pick(Shot(start, end))
            return
        buf.items = [c for c in [pending[1]] if c] + buf.items  # a final sliver: merge or re-split the two
        for a, b in itertools.pairwise(bounds):
            yield Shot(a, b), buf.pick(Shot(a, b))


__all__ = ["VideoLoader", "shot_text"]
