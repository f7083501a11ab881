"""Small audio towers trained from scratch, their log-mel front end, and the
pure helpers that cut clips into tower-sized crops.

``AudioConvTower`` takes 16 kHz mono waveforms ``(N, L)``: it peak-normalises
each clip (loudness is not what a sound *is*), computes a Whisper-style
log-mel spectrogram (25 ms windows, 10 ms hop, 64 mel bands, 8 dB dynamic
range floor), applies SpecAugment masks while training, then runs the same
residual CNN stages as the image tower over (mel, time), averages over
frequency, pools time by mean + max, and projects into the text space,
L2-normalised. The front end lives inside the module, so training and
inference compute exactly the same features.

A clip longer than the tower's crop is cut into crops (silent ones dropped),
each crop embedded and the renormalised mean kept; a shorter clip is
repeated to fill the crop (CLAP's "repeatpad").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmrag.space.cnn_tower import conv_stages

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
SILENT_SHARE = 0.1  # a crop quieter than this share of the loudest crop's RMS is dropped
MAX_CROPS = 16  # a long clip is embedded from at most this many evenly spread crops


@dataclass(frozen=True)
class AudioTowerConfig:
    arch: str = "audioconv"
    sample_rate: int = SAMPLE_RATE
    clip_seconds: float = 4.0
    n_mels: int = 64
    widths: tuple[int, ...] = (16, 32, 64, 128)
    out_dim: int = 384
    dropout: float = 0.1

    @property
    def clip_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["modality"] = "audio"
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AudioTowerConfig:
        return cls(
            arch=str(d.get("arch", "audioconv")),
            sample_rate=int(d.get("sample_rate", SAMPLE_RATE)),
            clip_seconds=float(d["clip_seconds"]),
            n_mels=int(d.get("n_mels", 64)),
            widths=tuple(int(w) for w in d["widths"]),
            out_dim=int(d["out_dim"]),
            dropout=float(d.get("dropout", 0.0)),
        )


def mel_filters(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney mel filter bank ``(n_fft // 2 + 1, n_mels)`` from ``transformers.audio_utils``."""
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=0.0,
        max_frequency=sample_rate / 2,
        sampling_rate=sample_rate,
        norm="slaney",
        mel_scale="slaney",
    ).astype(np.float32)


class LogMel(nn.Module):
    """Waveforms ``(N, L)`` → peak-normalised Whisper-style log-mel ``(N, 1, n_mels, frames)``."""

    window: Tensor
    filters: Tensor

    def __init__(self, n_mels: int, sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer("filters", torch.from_numpy(mel_filters(n_mels, sample_rate)), persistent=False)

    def forward(self, wave: Tensor) -> Tensor:
        peak = wave.abs().amax(dim=1, keepdim=True).clamp_min(1e-4)
        spec = torch.stft(wave / peak, N_FFT, HOP, window=self.window, return_complex=True)
        power = spec.abs().pow(2)  # (N, freq, frames)
        mel = torch.einsum("nft,fm->nmt", power, self.filters)
        log = torch.log10(mel.clamp_min(1e-10))
        log = torch.maximum(log, log.amax(dim=(1, 2), keepdim=True) - 8.0)
        return ((log + 4.0) / 4.0).unsqueeze(1)


def spec_augment(x: Tensor, *, freq_mask: int = 8, time_share: float = 0.1, masks: int = 2) -> Tensor:
    """Mask ``masks`` random frequency bands (≤ ``freq_mask`` bins) and time spans (≤ ``time_share`` of the
    frames) per clip, filling them with the clip's floor (its silence level). Training only."""
    n, _, f, t = x.shape
    out = x.clone()
    floor = x.amin(dim=(1, 2, 3), keepdim=True)
    for _ in range(masks):
        fw = torch.randint(0, freq_mask + 1, (n,))
        f0 = (torch.rand(n) * (f - fw).clamp_min(1)).long()
        tw = torch.randint(0, max(1, int(t * time_share)) + 1, (n,))
        t0 = (torch.rand(n) * (t - tw).clamp_min(1)).long()
        fr = torch.arange(f).view(1, f)
        tr = torch.arange(t).view(1, t)
        fmask = (fr >= f0.view(n, 1)) & (fr < (f0 + fw).view(n, 1))
        tmask = (tr >= t0.view(n, 1)) & (tr < (t0 + tw).view(n, 1))
        mask = fmask.view(n, 1, f, 1) | tmask.view(n, 1, 1, t)
        out = torch.where(mask.to(x.device), floor, out)
    return out


class AudioConvTower(nn.Module):
    """Waveforms ``(N, L)`` at 16 kHz in [-1, 1] → L2-normalised ``(N, out_dim)``."""

    def __init__(self, cfg: AudioTowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.frontend = LogMel(cfg.n_mels, cfg.sample_rate)
        self.features, cin = conv_stages(1, cfg.widths)
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(2 * cin, cfg.out_dim)

    def forward(self, wave: Tensor) -> Tensor:
        x = self.frontend(wave)
        if self.training:
            x = spec_augment(x)
        x = self.features(x).mean(dim=2)  # (N, C, frames')
        x = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)
        return F.normalize(self.proj(self.drop(x)), dim=-1)


def audio_tower_config(d: Mapping[str, Any]) -> Any:
    """The config of a tower description (``tower.json``'s ``tower``), by its ``arch``:
    ``audioconv`` (log-mel CNN, trained from scratch) or ``whisper`` (head on Whisper's encoder)."""
    if str(d.get("arch", "audioconv")) == "whisper":
        from mmrag.space.whisper_head import WhisperTowerConfig

        return WhisperTowerConfig.from_dict(d)
    return AudioTowerConfig.from_dict(d)


def build_audio_tower(cfg: Any) -> nn.Module:
    if cfg.arch == "whisper":
        from mmrag.space.whisper_head import WhisperHead

        return WhisperHead(cfg)
    if cfg.arch != "audioconv":
        raise ValueError(f"unknown audio tower architecture '{cfg.arch}'")
    return AudioConvTower(cfg)


# ------------------------------------------------------------------ crops (pure)


def repeat_pad(samples: np.ndarray, n: int) -> np.ndarray:
    """``samples`` repeated (then cut) to exactly ``n`` samples; silence for an empty clip. Pure."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(x) == 0:
        return np.zeros(n, dtype=np.float32)
    if len(x) >= n:
        return x[:n].copy()
    return np.tile(x, -(-n // len(x)))[:n]


def crop_at(samples: np.ndarray, n: int, offset: int) -> np.ndarray:
    """The ``n`` samples from ``offset`` (clamped into range), repeat-padded when the clip is shorter. Pure."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(x) <= n:
        return repeat_pad(x, n)
    start = min(max(0, int(offset)), len(x) - n)
    return x[start : start + n].copy()


def crop_starts(length: int, n: int, most: int = MAX_CROPS) -> list[int]:
    """Start offsets of the crops that cover a clip: consecutive, the last one flush with the end,
    thinned to at most ``most`` evenly spread ones. Pure."""
    if length <= n:
        return [0]
    count = -(-length // n)
    starts = [min(i * n, length - n) for i in range(count)]
    if len(starts) > most:
        starts = [starts[round(i)] for i in np.linspace(0, len(starts) - 1, most)]
    return starts


def clip_crops(samples: np.ndarray, n: int, most: int = MAX_CROPS, silent_share: float = SILENT_SHARE) -> np.ndarray:
    """``(k, n)`` crops of a clip for embedding: every crop, minus the silent ones
    (RMS under ``silent_share`` of the loudest crop's). Always at least one. Pure."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    crops = np.stack([crop_at(x, n, s) for s in crop_starts(len(x), n, most)])
    rms = np.sqrt(np.mean(crops.astype(np.float64) ** 2, axis=1))
    keep = rms >= silent_share * rms.max() if rms.max() > 0 else np.ones(len(crops), dtype=bool)
    return crops[keep]


__all__ = [
    "SAMPLE_RATE",
    "AudioConvTower",
    "AudioTowerConfig",
    "LogMel",
    "audio_tower_config",
    "build_audio_tower",
    "clip_crops",
    "crop_at",
    "crop_starts",
    "embed_clips",
    "mel_filters",
    "repeat_pad",
    "spec_augment",
]


def embed_clips(model: nn.Module, clips: list[np.ndarray], clip_samples: int, device: str = "cpu", batch: int = 64) -> np.ndarray:
    """One L2-normalised vector per clip: the renormalised mean over its non-silent crops (``clip_crops``);
    for a Whisper-encoder tower, over its ≤ 30 s windows (``whisper_head.embed_whisper``)."""
    from mmrag.space.base import l2_normalize, owner_means
    from mmrag.space.whisper_head import WhisperHead, embed_whisper

    if isinstance(model, WhisperHead):
        return embed_whisper(model.cpu(), clips)

    crops: list[np.ndarray] = []
    owners: list[int] = []
    for i, clip in enumerate(clips):
        c = clip_crops(np.asarray(clip, dtype=np.float32), clip_samples)
        crops.extend(c)
        owners.extend([i] * len(c))
    if not clips:
        return np.zeros((0, int(cast(Any, model.cfg).out_dim)), dtype=np.float32)
    was_training = model.training
    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(crops), batch):
            x = torch.from_numpy(np.stack(crops[s : s + batch])).to(device)
            out.append(model(x).float().cpu().numpy())
    model.train(was_training)
    return owner_means(l2_normalize(np.concatenate(out)), np.asarray(owners), len(clips))
