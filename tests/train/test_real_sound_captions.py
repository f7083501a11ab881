"""Captions made from sound file names (scripts/real_sound_captions.py): pure, no downloads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


cap = _load("real_sound_captions")


def test_gcompris_junk_is_dropped_and_bark_is_a_dog() -> None:
    assert cap.words("LRBark_1_LA_cut.ogg") == ["bark"]
    assert "bark" in (cap.caption("LRBark_1_LA_cut.ogg") or "")
    assert cap.caption("LRRain_in_garden_01_LA_cut.ogg") == "rain on a garden"


def test_camel_case_and_digits_are_split() -> None:
    assert cap.words("LRStartAndStopCarEngine1LACut") == ["start", "and", "stop", "car", "engine"]
    assert cap.words("HorseGallop2.wav") == ["horse", "gallop"]
    assert cap.caption("DoorCreak.wav") == "a door creaking"
    assert cap.caption("WaterRunning.mp3") == "running water"


def test_generic_rules_make_phrases() -> None:
    assert cap.caption("GlassShatter.ogg") == "glass shattering"  # trailing verb takes -ing
    assert cap.caption("default_gravel_footstep.2.ogg") == "footsteps on gravel"
    assert cap.caption("doors_door_open.ogg") == "a door opening"  # "doors door" collapses
    assert cap.caption("goblin-die-1.ogg") == "a goblin dying"
    assert cap.caption("human-female-hit-2.ogg") == "a woman crying out in pain"
    assert cap.caption("mace-miss.ogg") == "a mace strike missing"
    assert cap.caption("accordion.ogg") == "accordion playing"


def test_folders_and_templates_add_context() -> None:
    assert cap.caption("Flutter1.wav", ("Bat",)) == "bat fluttering"
    assert cap.caption("Laser1.wav", (), "{}, electronic sound effect") == "a laser zap, electronic sound effect"


def test_meaningless_and_speech_names_are_skipped() -> None:
    assert cap.caption("LRWeird_3_LA.ogg") is None
    assert cap.caption("sound12.wav") is None
    assert cap.caption("custom4.ogg") is None
    assert cap.caption("1C.ogg") is None  # nothing left after dropping junk
    assert cap.caption("Sing-me-a-song.mp3") is None  # spoken/sung words
    assert cap.caption("letsgo.wav") is None
    assert cap.caption("Click.wav") == "a click"  # a named UI click is fine


def test_openttd_titles_become_plain_names() -> None:
    arch = _load("sound_archives")
    assert arch.openttd_title('"Toyland: Toy factory (2)". By Janis Lukss.') == "toy factory machinery"
    assert arch.openttd_title('"Ship horn". Original "x.aif" by Leon Milo.') == "Ship horn"
    assert arch.openttd_title('"Splat (rail builds)". Original') == "Splat"
    assert arch.openttd_title('"Unused/Nothing". Trivial empty sound file.') is None
