"""Captions made from sound file names (scripts/real_sound_captions.py): pure, no downloads."""

from __future__ import annotations

import importlib.util
import re
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


def test_0ad_folders_and_names_become_plain_descriptions() -> None:
    """0 A.D. (0ad-data): folder categories (actor/, impact/, resource/ ...) are dropped, the rest looked up in ZEROAD."""
    src = _load("make_real_sound_pairs")
    zeroad = _load("zeroad_captions")
    source = next(s for s in src.SOURCES if s.package == "0ad-data")
    assert source.drop == zeroad.ZEROAD_DROP and source.after_split

    def c(rel: str) -> str | None:  # what make_real_sound_pairs.sounds() does for a path under audio/
        parts = rel.split("/")
        folders = tuple(p for p in parts[:-1] if p not in zeroad.ZEROAD_DROP)
        return cap.caption(parts[-1].rsplit(".", 1)[0], folders, "{}", zeroad.ZEROAD)

    assert c("actor/fauna/animal/cattle_03.ogg") == "a cow mooing"
    assert c("actor/fauna/death/goat_2.ogg") == "a goat bleating in distress"
    assert c("actor/human/death/female_death_4.ogg") == "a woman dying"
    assert c("actor/human/movement/Footsteps/Foorstep_Sand_Running.ogg") == "footsteps running on sand"  # sic
    assert c("actor/singlesteps/fs_snow_3.ogg") == "a footstep in snow"
    assert c("attack/impact/arrow_metal_11.ogg") == "an arrow hitting metal"
    assert c("attack/weapon/swordhit_12b.ogg") == "swords clashing"
    assert c("actor/gate/stonegate_open_1.ogg") == "a heavy stone gate opening"
    assert c("ambient/water/wavecrash.ogg") == "waves crashing"
    assert c("resource/lumbering/lumber_tree_07.ogg") == "an axe chopping a tree"
    # game-event interface sounds and depletion jingles are skipped by the source's regex, speech/music never unpacked
    for rel in ("interface/alarm/alarmvictory_1.ogg", "interface/select/building/sel_forge.ogg",
                "resource/gathering/gather_fruitexpire_1.ogg", "attack/siege/ram_attack_order.ogg"):
        assert re.search(source.skip, rel), rel
    assert not re.search(source.skip, "resource/lumbering/lumber_tree_07.ogg")
    assert re.search(zeroad.ZEROAD_SKIP, "voice/english/civ/female/Female_Attack_1.ogg")
    assert re.search(zeroad.ZEROAD_SKIP, "music/Honor_Bound.ogg")
    # the table is the package's own: other packages' names mean what they meant before
    assert cap.caption("arrow.ogg") == "an arrow flying"
    assert cap.caption("arrow.ogg", (), "{}", zeroad.ZEROAD) == "an arrow hitting a target"


def test_unzip_reads_only_wanted_members_and_stays_inside(tmp_path: Path) -> None:
    import zipfile

    arch = _load("sound_archives")
    z = tmp_path / "public.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("audio/ambient/water/wave.ogg", b"OggS wave")
        f.writestr("audio/voice/english/attack.ogg", b"OggS speech")
        f.writestr("audio/music/theme.ogg", b"OggS music")
        f.writestr("audio/../../evil.ogg", b"x")
        f.writestr("art/textures/x.png", b"png")
    out = tmp_path / "out"
    assert arch.unpack_zip(z, "audio/", out, r"^(voice|music)/") == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.ogg")) == ["ambient/water/wave.ogg"]
    assert not (tmp_path / "evil.ogg").exists()
