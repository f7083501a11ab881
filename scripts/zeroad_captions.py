"""Captions for 0 A.D.'s sound effects (Debian ``0ad-data``, CC-BY-SA 3.0), by folder and file name.

Keys are ``real_sound_captions.words`` of the folders below ``audio/`` (categories such as
``actor/``, ``impact/``, ``resource/`` dropped: ``ZEROAD_DROP``) and of the file name, joined by
spaces. Used only for that package (``caption(..., phrases=ZEROAD)``), so no other package's
captions change. Fauna sounds are the animal's call, ``fauna/death`` its dying cry. Speech
(``audio/voice``) and music are never unpacked (``ZEROAD_SKIP``); interface sounds named after
game events (alarms, "building complete", selection jingles) and depletion jingles
(``*expire``) are skipped by ``ZEROAD_SKIP_FILES``: their names say what the game uses them
for, not what is heard. Pure data, tested in ``tests/train/test_real_sound_captions.py``.
"""

from __future__ import annotations

ZEROAD_SKIP = r"^(voice|music)/"  # under audio/: unit speech and music tracks are not sound effects
ZEROAD_SKIP_FILES = r"^interface/(alarm|complete|select)/|expire|_order|siege_select|ship_select"
ZEROAD_DROP = frozenset(["actor", "fauna", "animal", "human", "movement", "mounted", "ambient", "building", "dayscape",
                         "water", "weather", "attack", "destruction", "impact", "siege", "weapon", "interface", "ui",
                         "resource", "construction", "farming", "foraging", "gathering", "lumbering", "mining",
                         "Footsteps", "gate", "ship"])
ZEROAD: dict[str, str | None] = {
    # animals (fauna/animal: their calls; fauna/death: dying cries)
    "camel": "a camel grunting", "cattle": "a cow mooing", "chicken": "a chicken clucking", "flamingo": "a flamingo calling",
    "horse": "a horse neighing", "horse attack": "a horse neighing", "horse idle": "a horse snorting and neighing",
    "horse select": "a horse neighing", "horse death": "a horse dying", "death horse": "a horse dying",
    "elephant attack": "an elephant trumpeting", "elephant select": "an elephant trumpeting",
    "elephant trained": "an elephant trumpeting", "elephant death": "an elephant dying",
    "lion attack": "a lion roaring", "lion select": "a lion growling", "peacock call": "a peacock calling",
    "pig": "a pig oinking", "pig death": "a pig squealing", "pig squeal move": "a pig squealing", "sheep": "sheep bleating",
    "death animal generic": "an animal dying", "death camel": "a camel dying", "death goat": "a goat bleating in distress",
    # people
    "death": "a man dying", "death male": "a man dying", "death female": "a woman dying",
    "footstep grass running": "footsteps running on grass", "footstep grass walking": "footsteps walking on grass",
    "footstep gravel running": "footsteps running on gravel", "footstep gravel walking": "footsteps walking on gravel",
    "footstep rock running": "footsteps running on rock", "footstep rock walking": "footsteps walking on rock",
    "footstep wood running": "footsteps running on wood", "footstep wood walking": "footsteps walking on wood",
    "foorstep sand running": "footsteps running on sand", "foorstep sand walking": "footsteps walking on sand",  # sic
    "hstep dirt mn": "footsteps on dirt", "hstep run dirt mn": "footsteps running on dirt",
    "singlesteps fs grass": "a footstep on grass", "singlesteps fs gravel": "a footstep on gravel",
    "singlesteps fs rock": "a footstep on rock", "singlesteps fs sand": "a footstep on sand",
    "singlesteps fs snow": "a footstep in snow", "singlesteps fs wood": "a footstep on wood",
    "mstep": "horse hooves clopping",
    # ships, gates, siege engines
    "ship move": "a ship moving through water", "smove": "a ship moving through water",
    "warship move": "a ship moving through water", "warship death": "a wooden ship breaking apart",
    "stonegate close": "a heavy stone gate closing", "stonegate open": "a heavy stone gate opening",
    "ballist attack": "a ballista firing", "ballist rome attack": "a ballista firing",
    "onager moving": "a wooden siege engine rolling", "ram move": "a wooden siege engine rolling",
    "onager shooting": "a catapult launching", "ram attack": "a battering ram striking a gate",
    "siegeprojectilehit": "a heavy stone crashing into a wall",
    "building collapse large": "a large building collapsing", "explode debris": "an explosion with falling debris",
    # attacks and impacts
    "fire": "a fire crackling", "fire sp": "a fire burning", "fire sz": "a fire burning",
    "arrow": "an arrow hitting a target", "arrow dirt": "an arrow hitting the ground", "arrow metal": "an arrow hitting metal",
    "arrow stone": "an arrow hitting stone", "arrow wood": "an arrow hitting wood", "arrowfly": "an arrow whizzing past",
    "fleshimp": "a blow hitting flesh", "fleshstab": "a blade stabbing flesh",
    "shield metal": "a metal shield being hit", "shield wood": "a wooden shield being hit",
    "sling metal": "a sling stone hitting metal", "sling stone": "a sling stone hitting stone",
    "sling wood": "a sling stone hitting wood", "sling": "a sling stone thrown", "sling attack": "a sling stone thrown",
    "bow attack": "an arrow shot from a bow", "jav attack": "a javelin thrown", "pike attack": "a pike thrust",
    "spear attack": "a spear thrust", "sword attack": "a sword swinging", "swordhit": "swords clashing",
    "musket": "a musket shot",
    # work
    "con saw": "sawing wood", "con stone": "a chisel striking stone", "con wood": "hammering on wood",
    "hoe": "a hoe digging soil", "leaves": "leaves rustling", "gather field": "cutting grain with a sickle",
    "gather fruit": "picking fruit from a bush", "gather meat": "butchering meat with a knife",
    "lumber tree": "an axe chopping a tree", "mine metal": "a pickaxe striking metal ore",
    "mine stone": "a pickaxe striking stone",
    # ambience
    "amb farm": "farmyard ambience with animals", "amb port": "sounds of a harbour", "amb trade": "a busy marketplace",
    "day temperate": "birds singing in the countryside", "day temperate gen": "birds singing in the countryside",
    "day tropical": "tropical birds and insects", "river fast": "a fast flowing river", "river med": "a river flowing",
    "river raging": "a raging river", "river slow": "a slow river flowing", "waterfall": "a waterfall",
    "wave": "waves lapping on a shore", "wavecrash": "waves crashing", "waverocky": "waves breaking on rocks",
    "rain": "rain falling", "snowstorm": "a howling snowstorm", "thunder": "thunder rumbling", "wind": "wind blowing",
    "windgust": "a gust of wind", "windleaves": "wind rustling leaves", "windstorm": "a windstorm",
    # interface
    "chat alert": "a notification chime", "gamesetup join": "a join chime",
}


__all__ = ["ZEROAD", "ZEROAD_DROP", "ZEROAD_SKIP", "ZEROAD_SKIP_FILES"]
