"""Sound-alike matching of transcripts (retrieve/heard.py) and its place in fusion."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("jellyfish")

from mmrag.retrieve.fusion import Candidate, fuse_calibrated
from mmrag.retrieve.heard import grams, heard_score, key_stream, normalize, words
from mmrag.retrieve.search import heard_candidates
from mmrag.stores.base import Row


def test_normalize_and_words_follow_whispers_normaliser() -> None:
    assert normalize("Mr. Dashwood said TEN things!") == "mister dashwood said 10 things"
    assert words("ten of clubs") == ["one", "zero", "of", "clubs"]
    assert words("10 of close.") == ["one", "zero", "of", "close"]
    assert words("four") == words("4") == ["four"]


def test_key_stream_ignores_word_boundaries() -> None:
    assert key_stream("a toucan") == key_stream("a to Ken") == "ATKN"
    assert key_stream("for") == key_stream("four") == "FR"


def test_grams() -> None:
    assert grams("ABCDE", 4) == {"ABCD", "BCDE"}
    assert grams("AB", 4) == {"AB"}
    assert grams("", 4) == set()


def test_heard_score_values() -> None:
    assert heard_score("the toucan flew away", "the to Ken flew away") == 1.0
    assert heard_score("queen of clubs", "for Queen of Clothes.") == pytest.approx(3 / 5)  # KNOF NOFK OFKL of 5
    assert heard_score("ten of clubs", "10 of close.") == pytest.approx(5 / 7)
    assert heard_score("ten of clubs", "the weather is fine") == 0.0
    assert heard_score("", "anything") == 0.0
    # the recogniser's alternative hypotheses count as heard
    assert heard_score("maria said", "Maria sent", ["Maria said"]) == 1.0
    assert heard_score("maria said", "Maria sent") < 1.0


def _row(seg: str, text: str, meta: dict[str, str]) -> Row:
    return Row(id=f"{seg}:text", segment_id=seg, source=f"{seg}.wav", source_hash="h", modality="audio",
               channel="text", vector=np.zeros(4, np.float32), text=text, meta=json.dumps(meta))


def test_heard_candidates_score_only_speech_transcripts() -> None:
    rows = [
        _row("a", "the to Ken flew away", {"kind": "speech"}),
        _row("b", "the toucan flew away", {"kind": "sound"}),  # tags of a sound window: not a transcript
        _row("c", "Maria sent flowers", {"kind": "speech", "heard_also": "Maria sent flours / Maria said flowers"}),
        _row("d", "nothing alike here", {"kind": "speech"}),
    ]
    got = {c.key: c.raw for c in heard_candidates("toucan flew", rows)}
    assert got == {"a": 1.0}
    got = {c.key: round(c.raw, 3) for c in heard_candidates("maria said flowers", rows)}
    assert got["c"] == 1.0 and "d" not in got


def test_heard_bonus_lifts_the_misheard_transcript_above_a_nearer_cosine() -> None:
    dense = {"text": [Candidate("misheard", 0.50, 3.0), Candidate("other", 0.55, 3.6)]}
    heard = [Candidate("misheard", 1.0, 1.0), Candidate("other", 0.25, 0.25)]
    assert [k for k, _, _ in fuse_calibrated(dense)] == ["other", "misheard"]
    fused = fuse_calibrated(dense, heard=heard, heard_weight=1.0)
    assert [k for k, _, _ in fused] == ["misheard", "other"]
    assert fused[0][1] == pytest.approx(4.0) and fused[0][2]["heard"] == 1.0
    assert [k for k, _, _ in fuse_calibrated(dense, heard=heard, heard_weight=0.0)] == ["other", "misheard"]


def test_the_normaliser_is_whisper_own_without_importing_transformers() -> None:
    """``retrieve.heard`` reads Whisper's normaliser from its file in the transformers wheel: the same
    output as the package's class, without the 1.2 s import of transformers in a cold search."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mmrag.retrieve.heard import normalize\n"
        "texts = ['Mr. Smith paid ten dollars', 'ten of clubs', \"It's colour, not color!\", '1st of May']\n"
        "ours = [normalize(t) for t in texts]\n"
        "assert 'transformers' not in sys.modules, 'transformers was imported'\n"
        "from transformers.models.whisper.english_normalizer import EnglishTextNormalizer\n"
        "theirs = [EnglishTextNormalizer({})(t) for t in texts]\n"
        "assert ours == theirs, (ours, theirs)\n"
        "print(ours)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "mister smith paid $10" in res.stdout
