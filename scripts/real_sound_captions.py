"""Plain-English captions for game/desktop sound files, made from their file and folder names.

Pure functions only (no I/O), used by ``scripts/make_real_sound_pairs.py`` and tested in
``tests/train/test_real_sound_captions.py``.

How a caption is made from ``folders`` + ``stem``:

1. ``words``: split CamelCase, ``_ - . /`` and digits; lowercase; drop digits, one-letter
   tokens and ``JUNK`` (GCompris' ``LR``/``LA``/``cut``, ``sfx``, ``ocg``, ``default`` ...);
   rewrite cryptic or glued tokens with ``WORDS`` (``bhit`` -> ``body hit``, ``xylofon`` ->
   ``xylophone``, ``hog`` -> ``hedgehog``); drop a token that repeats the one before
   (Minetest's ``doors_door_open`` -> ``door open``).
2. The joined words are looked up in ``PHRASES`` (curated: ``bark`` -> ``a dog barking``;
   ``None`` there means "meaningless or speech: skip the file").
3. Otherwise generic rules: ``<creature> hit|die`` (Wesnoth's unit sounds) -> ``a goblin
   crying out in pain`` / ``a goblin dying``; ``<weapon> miss`` -> ``a sword swishing through
   the air``; ``<surface> footstep`` -> ``footsteps on gravel``; a trailing verb takes ``-ing``
   (``door open`` -> ``door opening``).
4. A name made only of ``MEANINGLESS`` words (``weird``, ``sound``, ``custom`` ...) is skipped.
5. ``template`` (from a folder category such as Scratch's ``Electronic``) wraps the phrase.
"""

from __future__ import annotations

import re

JUNK = frozenset(
    ["lr", "la", "cut", "sfx", "snd", "sound", "sounds", "default", "son", "ogg", "wav", "mp", "oga", "flac", "opus", "ocg", "alt", "loop", "env", "mono", "stereo", "data", "media", "the", "of"]
)
# Names that say nothing about what is heard.
MEANINGLESS = frozenset(
    ["weird", "custom", "misc", "empty", "unused", "nothing", "pause", "skip", "placed", "secret", "normalize", "sel", "select", "test", "signal", "short", "start", "finish", "prompt", "message", "capital", "hash", "at", "intro", "save", "high", "sound", "noise", "noises", "peculiar", "bonus", "win", "extra", "time", "suddendeath", "switch", "hog", "chant", "grow", "upgrade", "kill", "invincible", "totem", "welldone", "excellent", "retro", "lifeup", "coins", "cleared", "denube", "lovin", "nono", "open"]
)
WORDS: dict[str, str] = {
    "bhit": "body hit", "wscream": "woman scream", "pshit": "hiss", "trafic": "traffic", "croud": "crowd",
    "dijjeridoo": "didgeridoo", "xylofon": "xylophone", "xylo": "xylophone", "cembalo": "harpsichord",
    "klavichord": "clavichord", "cymbaly": "cymbals", "violoncello": "cello", "hog": "hedgehog",
    "baseballbat": "baseball bat", "jetpackboost": "jetpack boost", "drillgun": "drill", "landgun": "land gun",
    "sinegun": "sine wave gun", "shotgunfire": "shotgun fire", "shotgunreload": "shotgun reload",
    "sniperreload": "sniper rifle reload", "shutterclick": "camera shutter click", "whipcrack": "whip crack",
    "pickhammer": "jackhammer", "rcplane": "toy plane", "planewater": "plane crashing into water",
    "melonimpact": "melon impact", "mineimpact": "mine impact", "grenadeimpact": "grenade impact",
    "graveimpact": "gravestone impact", "minetick": "mine ticking", "portalshot": "portal gun shot",
    "portalopen": "portal opening", "portalswitch": "portal switch", "ropeshot": "rope shot",
    "ropeattach": "rope attach", "roperelease": "rope release", "throwpowerup": "throw charging",
    "throwrelease": "throw", "lasersight": "laser sight", "beewater": "bee water", "hellish": "hellish",
    "birdylay": "bird lay egg", "collectcrate": "collect crate", "firepunch": "fire punch",
    "airmine": "air mine", "frozen": "frozen", "bigjump": "big jump", "iceblock": "ice block",
    "icecrash": "ice crash", "dartfire": "dart fire", "darthit": "dart hit", "willowisp": "will-o-wisp",
    "willocatch": "will-o-wisp catch", "turnkey": "turn key", "magicmissile": "magic missile",
    "dragonstick": "dragon staff", "thunderstick": "musket", "faeriefire": "fairy fire", "wose": "tree creature",
    "tusker": "boar", "mermen": "merman", "ugg": "troll grunt", "savebell": "bell", "lowlow": "low", "fencegate": "fence gate", "hogchant": "hedgehog chant", "switchhog": "switchhedgehog",
    "windmill": "windmill", "htech": "", "oddly": "", "cracky": "cracky", "openclonk": "", "clonk": "person",
    "chippie": "insect creature", "mooq": "big beast", "puka": "small creature", "wipf": "small furry animal",
    "zap": "bee", "lorry": "mine cart", "boompack": "rocket", "windbag": "wind bag", "blunderbuss": "musket",
    "pisk": "whistle", "cink": "ding", "sealion": "sea lion", "beatbox": "beatbox", "un": "un",
    "uncash": "uncash", "commune": "commune", "tip": "garbage dump", "substation": "electrical substation",
    "ocg": "", "ocd": "", "doors": "", "xpanes": "", "carts": "", "flute_traversiere": "flute", "traversiere": "", "apert": "",
}
_CREATURES = {
    "human": "a man", "human female": "a woman", "human old": "an old man", "dwarf": "a dwarf", "elf": "an elf",
    "orc": "an orc", "orc small": "a small orc", "goblin": "a goblin", "ogre": "an ogre", "troll": "a troll",
    "lich": "a lich", "ghoul": "a ghoul", "naga": "a naga", "drake": "a dragon", "gryphon": "a gryphon",
    "mermaid": "a mermaid", "merman": "a merman", "skeleton": "a skeleton", "skeleton big": "a big skeleton",
    "wolf": "a wolf", "horse": "a horse", "bat": "a bat", "yeti": "a yeti", "tree creature": "a tree creature",
    "boar": "a boar", "zombie": "a zombie", "hiss": "a big snake", "squishy": "a slime creature",
    "mooq": "a big beast", "big beast": "a big beast", "monster": "a monster", "person": "a person",
    "small creature": "a small creature", "small furry animal": "a small furry animal",
    "insect creature": "an insect creature",
}
_SILENT_CREATURES = frozenset({"skeleton", "skeleton big", "lich", "tree creature"})  # hit = bones/wood, not a cry
# Wesnoth attack sounds: "<weapon>" is the hit, "<weapon> miss" the miss.
_WEAPONS = {
    "axe": "an axe strike", "bow": "an arrow shot from a bow", "bow puny": "a weak arrow shot",
    "bow puny fire": "a flaming arrow shot", "club": "a club strike", "crossbow": "a crossbow bolt shot",
    "crossbow fire": "a flaming crossbow bolt shot", "flail": "a flail strike", "flame big": "a big burst of flame",
    "hatchet": "a hatchet strike", "ink": "ink squirting", "lightning": "a lightning strike", "mace": "a mace strike",
    "sling": "a sling stone thrown", "sling big": "a big sling stone thrown", "spear": "a spear thrust",
    "staff": "a staff strike", "musket": "a musket shot", "torch": "a torch strike", "dragon staff": "a fire staff blast",
    "mud fist": "a muddy punch", "mud glob": "a mud glob splatting", "throwing knife": "a throwing knife",
    "magic dark": "a dark magic spell", "magic dark big": "a big dark magic spell", "magic fairy fire": "a fairy fire spell",
    "magic holy": "a holy magic spell", "magic missile": "a magic missile spell", "magic thorns": "a thorns spell",
    "boar charge": "a boar charging", "tree creature": "a tree creature attacking", "squishy": "a slimy strike",
    "squishy strike": "a slimy strike",
}
# One-word instrument names become "<instrument> playing".
INSTRUMENTS = frozenset(
    ["accordion", "banjo", "bongo", "castanets", "cello", "clarinet", "cymbal", "cymbals", "flute", "guitar", "harmonica", "harp", "horn", "maracas", "organ", "piano", "saxophone", "tambourine", "timpani", "triangle", "trombone", "trumpet", "tuba", "violin", "xylophone", "harpsichord", "clavichord"]
) | {"drum kit", "electric guitar", "snare drum", "electric piano"}
_ING = {
    "open": "opening", "close": "closing", "break": "breaking", "breaks": "breaking", "creak": "creaking",
    "bark": "barking", "howl": "howling", "fall": "falling", "growl": "growling", "roar": "roaring",
    "laugh": "laughing", "scream": "screaming", "cry": "crying", "sneeze": "sneezing", "cough": "coughing",
    "snort": "snorting", "hiss": "hissing", "munch": "munching", "chirp": "chirping", "splash": "splashing", "drip": "dripping",
    "burn": "burning", "explode": "exploding", "ignite": "igniting", "shoot": "shooting", "throw": "throwing",
    "gallop": "galloping", "strum": "strumming", "pluck": "plucking", "snap": "snapping", "knock": "knocking",
    "ring": "ringing", "toll": "tolling", "pop": "popping", "slide": "sliding", "crack": "cracking",
    "shatter": "shattering", "swing": "swinging", "bite": "biting", "chop": "chopping", "dig": "digging",
    "flutter": "fluttering", "spit": "spitting", "gulp": "gulping", "snuff": "sniffing", "weep": "weeping",
    "whine": "whining", "inflate": "inflating", "launch": "launching", "dump": "dumping", "clang": "clanging",
    "move": "moving", "moving": "moving", "stop": "stopping", "unlock": "unlocking", "lock": "locking",
    "charge": "charging", "draw": "drawing", "load": "loading", "reload": "reloading", "fire": "firing",
    "swim": "swimming", "rustle": "rustling", "roll": "rolling", "grab": "grabbing", "land": "landing",
    "landing": "landing", "hurt": "crying out in pain", "die": "dying", "shriek": "shrieking",
    "canter": "cantering", "flapping": "flapping", "attach": "attaching", "release": "releasing",
    "impact": "impact", "boost": "boosting", "freeze": "freezing", "bump": "bumping", "squeak": "squeaking",
    "passing": "passing", "running": "running", "slowing": "slowing down", "flip": "flipping", "turn": "turning",
}
PHRASES: dict[str, str | None] = {
    # GCompris memory-sound and others
    "bark": "a dog barking", "heart beat": "a heart beating", "factory noise": "factory machine noise", "factory": "factory machine noise",
    "buddhist gong": "a buddhist gong ringing", "hits": "hitting objects", "ring": "a bell ringing",
    "applauses": "an audience applauding", "rain in garden": "rain on a garden",
    "object falling": "an object falling", "start and stop car engine": "a car engine starting and stopping",
    "frogs in pond during storm": "frogs croaking in a pond during a storm",
    "train slowing down": "a train slowing down", "fireballs": "fireballs whooshing",
    "guitar melody": "a guitar melody", "knock": "knocking on a door", 
    "bubble": "bubbles popping", "drip": "water dripping", "flip": "a card flipping", "audioclick": "a click",
    "smudge": "a smudge swipe", "completetask": "a success chime", "scroll": "a scroll sound",
    "darken": "a whoosh", "crash": "a crash", "bleep": "a bleep", "water": "water splashing",
    "chickens": "chickens clucking", "sheep": "sheep bleating", "pig": "a pig oinking", "owl": "an owl hooting",
    "cow": "a cow mooing", "duck": "a duck quacking", "horse": "a horse neighing", "cat": "a cat meowing",
    "beethoven": "classical orchestral music", "italy": "italian folk music", "mexico": "mexican mariachi music",
    "ireland": "irish folk music", "america": "american folk music", "japan": "japanese traditional music",
    "africa": "african drum music", "australia": "australian didgeridoo music", "middleeast": "middle eastern music",
    # Scratch
    "dog": "a dog barking", "seal": "a seal barking", "sea lion": "a sea lion barking",
    "horse gallop": "a horse galloping", "rooster": "a rooster crowing", "bird": "a bird singing",
    "wolf howl": "a wolf howling", "crickets": "crickets chirping", "cricket": "a cricket chirping",
    "kitten": "a kitten meowing", "goose": "a goose honking", "meow": "a cat meowing",
    "laugh female": "a woman laughing", "laugh male": "a man laughing", "scream female": "a woman screaming",
    "scream male": "a man screaming", "cough female": "a woman coughing", "cough male": "a man coughing",
    "sneeze female": "a woman sneezing", "sneeze male": "a man sneezing", "footsteps": "footsteps walking",
    "baby cry": "a baby crying", "finger snap": "fingers snapping", "party noise": "a noisy party crowd",
    "slurp": "someone slurping a drink", "singer": "a person singing", "beatbox": "a human beatbox",
    "human beatbox": "a human beatbox music loop", "ya": None, "string accent": "a string orchestra accent",
    "suspense": "suspenseful strings", "spooky string": "spooky strings", "afro string": "an african string instrument",
    "didgeridoo": "a didgeridoo droning", "tambura": "a tambura drone", "chord": "a chord played on an instrument",
    "hand clap": "hands clapping", "drum buzz": "a drum roll", "cymbal crash": "a cymbal crash",
    "ride cymbal": "a ride cymbal", "water drop": "a water drop", "ripples": "water rippling",
    "typing": "typing on a keyboard", "plunge": "something plunging into water",
    "motorcycle passing": "a motorcycle passing by", "water running": "running water", "bell toll": "a bell tolling",
    "rattle": "a rattle shaking", "door creak": "a door creaking",
    "sewing machine": "a sewing machine running", "balloon scratch": "a balloon squeaking",
    "car passing": "a car passing by", "bubbles": "bubbles bubbling", "spiral": "a spiralling synth sound",
    "screech": "a screech", "whoop": "a whoop", "computer beeps": "computer beeps", "space ripple": "a space ripple",
    "fairydust": "a magical fairy dust twinkle", "zoop": "a zoop", "dirty whir": "a dirty whirring",
    "alien creak": "an alien creak", "laser": "a laser zap", "cave": "a cave ambience music loop",
    "garden": "a garden music loop", "jungle": "a jungle music loop", "eggs": "a playful music loop",
    "triumph": "a triumphant music loop", "drip drop": "a dripping music loop", "medieval": "medieval music",
    "hip hop": "a hip hop beat", "techno": "a techno beat", "drum machine": "a drum machine beat",
    "drum set": "a drum set beat", "drum": "a drum beat", "guitar chords": "guitar chords",
    "join us": None, "sing me song": None, "come and play": None, "doy doy doy": None, "got inspiration": None,
    "oooo badada": None, "hey yay hey": None,
    # sound-icons / freedesktop
    "canary": "a canary singing", "cockchafer gentleman": "a cockchafer beetle buzzing", "glass water": "a glass of water clinking",
    "gummy cat": "a cat meowing", "whistle down": "a whistle going down", "whistle up": "a whistle going up",
    "whistle down ding": "a whistle going down with a ding", "whistle up ding": "a whistle going up with a ding",
    "pipe": "a pipe whistle", "percussion": "a percussion hit", "alarm clock elapsed": "an alarm clock ringing",
    "audio volume change": "a volume change blip", "camera shutter": "a camera shutter click",
    "complete": "a completion chime", "device added": "a device connected chime", "device removed": "a device disconnected chime",
    "dialog error": "an error alert sound", "dialog information": "an information chime", "dialog warning": "a warning alert sound",
    "message new instant": "a new message notification", "network connectivity established": "a connection chime",
    "network connectivity lost": "a disconnection chime", "phone incoming call": "a phone ringing",
    "phone outgoing busy": "a phone busy tone", "phone outgoing calling": "a phone ringback tone",
    "power plug": "a power plugged in chime", "power unplug": "a power unplugged chime", "screen capture": "a camera shutter click",
    "service login": "a login chime", "service logout": "a logout chime", "suspend error": "an error alert sound",
    "trash empty": "crumpling paper into the trash", "window attention": "an attention chime",
    "window question": "a question chime",
    # Wesnoth
    "birds": "birds singing", "campfire": "a campfire crackling", "morning": "morning birdsong", "night": "night crickets",
    "ship": "a creaking ship at sea", "wardrums": "war drums", "bat flapping": "a bat flapping its wings",
    "bite": "a bite", "bite small": "a small bite", "cave in": "rocks caving in", "claws": "claws slashing",
    "dagger swish": "a dagger swishing", "dart": "a dart thrown", "explosion": "an explosion", "fanfare short": "a short fanfare",
    "fire": "fire burning", "fist": "a punch", "fuse": "a burning fuse", "groan": "a groan", "gryphon shriek": "a gryphon shrieking",
    "gunshot": "a gunshot", "heal": "a magical healing chime", "hiss": "a hiss", "hiss big": "a big hiss",
    "horse canter": "a horse cantering", "horse elf canter": "a horse cantering", "knife": "a knife stab",
    "miss": "a whoosh", "net": "a net thrown", "open chest": "a chest opening", "petrified": "stone grinding",
    "pincers": "pincers snapping", "poison": "a poison hiss", "potion": "drinking a potion", "rumble": "a rumble",
    "slowed": "a slowing spell", "sword": "a sword strike", "tail": "a tail whip", "throw": "a throw",
    "wail": "a ghostly wail", "wail long": "a long ghostly wail", "wail sml": "a short ghostly wail",
    "water blast": "a water blast", "wolf growl": "a wolf growling", "dwarf laugh": "a dwarf laughing",
    "tree creature attack": "a tree creature attacking", "zombie attack": "a zombie attacking", "entangle": "vines entangling",
    "melee fire": "a fiery melee strike", "troll grunt": "a troll grunting", "witches laugh": "a witch cackling",
    "boar charge": "a boar charging", "checkbox": "a checkbox click", "button": "a button click", "slider": "a slider click",
    "chat": "a chat message blip", "chat friend": "a chat message blip", "chat highlight": "a chat message blip",
    "gamestart": "a game start chime", "timer": "a ticking timer", "bell": "a bell", "arrive": "a join chime",
    "leave": "a leave chime", "receive": "a received message chime", "contract": "a click", "expand": "a click",
    "select unit": "a selection click", "select": None,
    # Hedgewars
    "hell growl": "a demonic growl", "hell ooff": "a grunt of pain", "hell ow": "a cry of pain", "hell ugh": "a grunt of pain",
    "tardis": "a time machine materialising", "yoohoo": None, "kiss": "a kiss", 
    "collect crate": "picking up a crate", "droplet": "a water droplet", "hellish": "a hellish rumble", "whistle": "a whistle",
    "bee": "a bee buzzing", "bee water": "a bee falling into water", "blowtorch": "a blowtorch burning", "cake": "a cake walking",
    "countdown": None, "denied": "an error buzzer", "egg": "an egg cracking", "fire punch hit": "a fiery punch",
    "flamethrower": "a flamethrower", "frozen hedgehog impact": "a frozen hedgehog hitting the ground",
    "gravestone impact": "a gravestone thudding down", "gun": "a gun firing", "hammer": "a hammer hit",
    "hedgehog freeze": "ice freezing", "homerun": "a baseball bat home run hit", "ice beam": "an ice beam",
    "ice beam idle": "an ice beam humming", "invulnerable": "a magic shield", "jetpack boost": "a jetpack boosting",
    "knife impact": "a knife hitting", "land gun": "a land spray gun", "laser sight": "a laser sight",
    "lowgravity": "a low gravity whoosh", "minigun": "a minigun firing", "molotov": "a molotov cocktail shattering",
    "mortar": "a mortar firing", "parachute": "a parachute opening", "plane": "a plane flying over", "steam": "steam hissing",
    "toy plane": "a toy plane buzzing", "ride the valkyries": "ride of the valkyries orchestral music",
    "rubberduck die": "a rubber duck squeaking", "rubberduck drop": "a rubber duck dropped", "rubberduck water": "a rubber duck in water",
    "steps": "footsteps", "ufo": "a ufo humming", "warp": "a teleport warp", "sine wave gun": "a sine wave gun",
    "extratime": None, "throw charging": "a throw power charging up",
    "air mine impact": "an air mine exploding",
    # SuperTux
    "brick": "a brick breaking", "coin": "a coin collected", "cracking": "ice cracking", "crystallo pop": "a crystal popping",
    "crystallo shardhit": "a crystal shard hitting", "crystallo shatter": "a crystal shattering", "dart fire": "a dart shot",
    "dart hit": "a dart hitting", "door": "a door", "fire flower": "a magical power-up", "firecracker": "a firecracker",
    "fireworks": "fireworks exploding", "fizz": "a fizz", "flame": "a flame", "flop": "a flop", "grunts": "grunting",
    "gulp": "a gulp", "hop": "a hop", "hurt": "a cry of pain", "ice block bump": "an ice block bumping",
    "ice crash": "ice crashing", "jump": "a jump", "big jump": "a big jump", "kick": "a kick", 
    "locked": "a locked door rattle", "mr tree": "a tree creature groaning", "mr treehit": "a tree creature hit",
    "phone": "a phone ringing", "pop": "a pop", "rain": "rain falling", "retro fall": None, "saw": "a saw",
    "shoot": "a shot", "sizzle": "sizzling", "skid": "skidding", "splat": "a splat", "squish": "a squish",
    "stomp": "a stomp", "thud": "a thud", "thunder": "thunder rumbling", "ticking": "a clock ticking",
    "trampoline": "a trampoline bounce", "tree howling": "a howling tree", "tree suck": "a tree sucking",
    "turn key": "a key turning", "waterfall": "a waterfall", "will-o-wisp": "a ghostly wisp", "will-o-wisp catch": "a ghostly wisp catching",
    "wood": "wood knocking", "yeti finish": "a yeti defeated", "yeti gna": "a yeti grunting", "yeti roar": "a yeti roaring",
    "bell low": "a low bell",
    # LinCity-NG (building ambiences)
    "blacksmith": "a blacksmith hammering", "build": "construction work", "click": "a click", 
    "commune": None, "dirt track": "a car on a dirt track", "farm": "farm animals", "fire station": "a fire engine siren",
    "fire wasteland": "a fire burning", "green": "birds in a park", "industry": "industrial machinery",
    "industry high": "heavy industrial machinery", "industry light": "light industrial machinery",
    "market empty": None, "market full": "a busy market crowd", "market low": "a quiet market crowd", "market med": "a market crowd",
    "mill": "a mill working", "monument": None, "monument construction": "construction work", 
    "organic farm": "farm animals", "parkland lake": "a lake in a park", "parkland plane": "birds in a park",
    "power coal empty": None, "power coal full": "a coal power station",
    "power coal low": "a coal power station", "power coal med": "a coal power station", "power line": "power lines humming",
    "rail train": "a train passing", "raze": "a building being demolished",
    "residential high": "a busy neighbourhood street", "residential low": "a quiet neighbourhood street",
    "residential med": "neighbourhood street sounds", "rocket explosion": "a rocket exploding",
    "rocket takeoff": "a rocket taking off", "school": "children at school", "shanty": None, "sports crowd": "a sports crowd cheering",
    "electrical substation off": None, "electrical substation on": None,
    "traffic high": "heavy road traffic", "traffic low": "light road traffic",
    "university": None, "window close": "a window closing", "window open": "a window opening",
    # Minetest
    "cart moving": "a minecart rolling on rails", "break glass": "glass breaking", "chest close": "a chest closing",
    "chest open": "a chest opening", "cool lava": "lava cooling and hissing", "dig choppy": "chopping wood",
    "dig cracky": "a pickaxe hitting stone", "dig crumbly": "digging dirt", "dig dig immediate": None,
    "dig breakable by hand": None, "dig snappy": "snapping leaves", "dig metal": "hitting metal", "dug metal": "metal breaking",
    "dug node": "a block breaking", "furnace active": "a furnace burning", "gravel dig": "digging gravel",
    "gravel dug": "gravel breaking", "ice dig": "hitting ice", "ice dug": "ice breaking", "item smoke": "a puff of smoke",
    "place node": "placing a block", "place node hard": "placing a stone block", "place node metal": "placing a metal block",
    "tool breaks": "a tool breaking", "fencegate close": "a fence gate closing", "fencegate open": "a fence gate opening",
    "lava": "bubbling lava", "fire extinguish flame": "a flame being put out", "fire fire": "fire crackling",
    "fire flint and steel": "striking flint and steel", "fire large": "a large fire roaring", "fire small": "a small fire crackling",
    "player damage": "a person grunting in pain", "soundstuff": None, "tnt explode": "a tnt explosion",
    "tnt gunpowder burning": "gunpowder fuse burning", "tnt ignite": "a fuse igniting",
    "xpanes steel bar door close": "a steel bar door closing", "xpanes steel bar door open": "a steel bar door opening",
    # Extreme Tux Racer, Pingus, FreeDink
    "pickup": "a pickup chime", "tree hit": "hitting a tree", "chink": "a metallic chink", "digger": "digging",
    "plop": "a plop", "tick": "a tick", "ting": "a ting", "goodidea": None, "letsgo": None, "ohno": None, "yipee": None,
    "arrow": "an arrow flying", "body hit": "a body hit", "burn": "fire burning", "grunt": "a grunt",
    "woman scream": "a woman screaming", "punch": "a punch", "stairs": "walking on stairs", "swing": "a swing whoosh",
    "dance": None, "gold": "coins clinking", "tada": "a tada fanfare",
    # Widelands
    "fast woodcutting": "chopping wood quickly", "smith": "a blacksmith hammering on an anvil", "hammering": "hammering",
    "sawing": "sawing wood", "benchsaw": "a bench saw cutting wood", "stonecutter": "a stonecutter chiselling stone",
    "wolf": "a wolf howling", "toolsmith": "a toolsmith hammering metal", "sawmill": "a sawmill cutting wood",
    "falling tools": "metal tools falling", "mill turning": "a mill wheel turning", "ox": "an ox lowing",
    "farm animal": "farm animals", "winebubble": "wine bubbling", "beerbubble": "beer bubbling",
    "ration": "cooking in a kitchen", "meal": "cooking in a kitchen", "tavern": "a busy tavern", "inn": "a busy tavern",
    "biginn": "a busy tavern", "goldspin": "a spinning wheel", "stag": "a stag bellowing", "moose": "a moose calling",
    "coyote": "a coyote howling", "woodcutting": "chopping wood", "stonemason": "a stonemason chiselling stone",
    "sharpening": "sharpening a blade", "weaving": "a loom weaving", "weaver": "a loom weaving",
    "ironping": "metal pinging", "goldping": "metal pinging", "fizzle": "a fizzle", "geologist hammer": "a hammer tapping rock",
    "fisher throw net": "a fishing net thrown into water", "fisher pull net": "pulling a fishing net out of water",
    "scythe": "a scythe cutting grass", "donkey": "a donkey braying", "stonegrind": "grinding stone", "frog": "a frog croaking",
    "boar": "a boar grunting", "tree falling": "a tree falling",
    # Warzone 2100 (8.3 names)
    "oilpump": "an oil pump working", "freroar": "a fire roaring", "powerspk": "electric sparks", "powerhum": "an electric hum",
    "mgbar": "a machine gun burst", "lrgcan": "a large cannon firing", "bemlsr": "a laser beam firing", "weld": "welding",
    "mgtower": "a machine gun firing", "gaussgun": "a gauss gun firing", "medcan": "a cannon firing",
    "mgheavy": "a heavy machine gun firing", "flmthrow": "a flamethrower", "rapdcan": "a rapid-fire cannon",
    "hivelcan": "a high velocity cannon firing", "smlcan": "a small cannon firing", "plslsr": "a pulse laser firing",
    "bldloop": "construction work", "hwtzflgt": "an artillery shell whistling", "asltmg": "an assault gun firing",
    "hovstart": "a hovercraft engine starting", "con move": "a construction vehicle moving",
    "con move off": "a construction vehicle stopping", "cyber move": "robotic footsteps", "vtol move": "a jet aircraft flying",
    "hovmove": "a hovercraft moving", "vtolland": "a jet aircraft landing", "tstart": "a tank engine starting",
    "tread": "tank treads rolling", "vtoloff": "a jet aircraft taking off", "hovstop": "a hovercraft stopping",
    "con shut down": "an engine shutting down", "richet": "a bullet ricochet", "mpodexpl": "an explosion",
    "lsrexpl": "a laser explosion", "nxsexpld": "an explosion", "smlexpl": "a small explosion", "bldfall": "a building collapsing",
    "lrgexpl": "a large explosion", "atnkexpl": "an anti-tank rocket explosion",
    # OpenClonk
    "bat noise": "a bat squeaking", "insect creature talk": "an insect creature chattering", "lava core fossilize": "lava hardening",
    "big beast die fat": "a big beast dying", "mosquito buzz": "a mosquito buzzing", "small creature teleport in": "a teleport whoosh",
    "small creature teleport out": "a teleport whoosh", "small furry animal aroof": "a small furry animal barking",
    "dig": "digging in earth", "grab": "grabbing something", "group attack": None, "munch": "munching food",
    "un grabbing": None, "roll": "rolling on the ground", "rustle": "clothes rustling", "rustle landing": "landing on the ground",
    "person laughter": "a person laughing", "person shock": "a person gasping in shock", "person screaming": "a person screaming",
    "person singing": "a person singing", "person": None, "tree landing": "a tree crashing to the ground",
    "vine grabbing": "grabbing a vine", "wind": "wind blowing", "blast": "an explosion", "blast firework": "fireworks exploding",
    "blast liquid": "an underwater explosion", "blast metal": "a metallic explosion", "blowout": "a burst of air",
    "cracker": "a firecracker", "fireball": "a fireball whooshing", "fuse short": "a short burning fuse",
    "inflame": "something catching fire", "smoke": "a puff of smoke", "spark": "an electric spark",
    "bucket hit": "a metal bucket clanking", "general hit": "a hit", "ice hit": "hitting ice", "glass hit": "glass clinking",
    "dull metal hit": "a dull metal clang", "light metal hit": "a light metal clink", "rock hit": "rocks knocking",
    "rockfall": "rocks falling", "dull wood hit": "a dull wooden knock", "wood hit": "a wooden knock",
    "organic hit": "a fleshy thud", "projectile hit living": "a projectile hitting flesh", "soft hit": "a soft thud",
    "soft touch": "a soft touch", "boiling": "liquid boiling", "corrode": "acid fizzing", "pshshsh": "a hissing spray",
    "smoke sizzle": "smoke sizzling", "splash": "water splashing", "swim": "swimming in water", "waterdrop": "a water drop",
    "arrow hit ground": "an arrow hitting the ground", "arrow shooting": "an arrow shot", "rocket fly": "a rocket flying",
    "connect": None, "diamond dig out": "digging out a diamond", "electrical": "electrical buzzing",
    "plane crash": "a plane crashing", "plane propeller": "a propeller plane engine", "spray can": "a spray can spraying",
    "wall kit click": "a click", "wall kit locking": "a lock clicking", "musket bullet hit ground": "a bullet hitting the ground",
    "musket bullet shot": "a musket shot", "musket click": "a gun clicking", "musket gun shooting": "a musket firing",
    "bow get arrow": "pulling an arrow from a quiver", "bow loading": "loading a bow", "bow put away": "putting away a bow",
    "bow shooting": "an arrow shot from a bow", "bow drawing": "drawing a bow", "javelin drawing": "drawing a javelin",
    "javelin hit ground": "a javelin hitting the ground", "javelin throwing": "a javelin thrown",
    "shield metal hit": "a metal shield being hit", "shield weapon hit": "a weapon hitting a shield",
    "shield wood hit": "a wooden shield being hit", "weapon hit": "a weapon hit", "weapon swinging": "a weapon swinging",
    "wind bag charging": "air being sucked in", "wind bag charge stopping": None, "wind bag gust": "a gust of wind",
    "ejection popping": "a pop", "elevator drilling": "a drill boring into rock", "elevator moving": "an elevator moving",
    "elevator start": "an elevator starting", "elevator stopping": "an elevator stopping", "fan": "a fan whirring",
    "finish building": "a construction finished chime", "furnace": "a furnace roaring", "furnace start": "a furnace starting",
    "furnace stopping": "a furnace stopping", "pumpjack": "an oil pump working", "repair": "hammering a repair",
    "sawmill ripcut": "a sawmill cutting wood", "steam engine": "a steam engine running", "stone gate chain": "a chain rattling",
    "stone gate hit": "a heavy stone gate slamming", "stone gate moving": "a heavy stone gate moving",
    "switch flipping": "a lever switch flipping", "switch moving": "a lever moving", "switch stuck": "a stuck lever rattling",
    "door unlocking": "a door unlocking", "hinge creaking": "a hinge creaking", "pickaxe clang hard": "a pickaxe clanging hard",
    "cash": "a cash register", "close": "a click", "close viewport": "a click", "confirmed": "a confirmation chime",
    "ding": "a ding", "error": "an error buzz", "fanfare": "a fanfare", "next wave": "an alarm horn",
    "un cash": "coins clinking", "earthquake": "an earthquake rumbling", "breathing": "a person breathing",
    "diving": "diving under water", "catapult launching": "a catapult launching",
    # more fixes after reading the first list
    "bird lay egg": "a bird laying an egg", "baseball bat": "a baseball bat hit", "beep": "a beep", "bump": "a bump",
    "drill": "a drill", "grenade impact": "a grenade landing", "hedgehog chant": None, "melon impact": "a melon splatting",
    "mine impact": "a mine landing", "mine ticking": "a mine ticking", "jackhammer": "a jackhammer",
    "portal opening": "a portal opening", "portal gun shot": "a portal gun shot", "portal switch": "a portal switching",
    "rope shot": "a grappling rope shot", "rope attaching": "a rope attaching", "rope releasing": "a rope releasing",
    "shotgun firing": "a shotgun firing", "shotgun reloading": "a shotgun reloading", "camera shutter click": "a camera shutter click",
    "sniper rifle reloading": "a sniper rifle reloading", "whip cracking": "a whip cracking", "ride valkyries": "orchestral music",
    "plane crashing into water": "a plane crashing into water", "switchhedgehog": None,
    "canary long": "a canary singing",
    "fall": "a falling whistle", "grass sliding": "sliding on grass", "ice sliding": "sliding on ice",
    "leaves sliding": "sliding through leaves", "mud sliding": "sliding through mud", "rock sliding": "sliding on rock",
    "snow sliding": "sliding on snow", "digging": "digging", "gong": "a gong", "shaker": "a shaker", "beat box": "a human beatbox",
    "windmill": "a windmill turning", "windmill tech": "a wind turbine", "join": "a join chime",
    "health": None, "recycle": None, "garbage dump": None, "pottery": None, "electrical substation": None,
    "power solar": None, "coal mine": None, "ore mine": None, "rocket": "a rocket launching", "harbor": "sounds of a harbour",
    "dig immediate": None, "hard footstep": "footsteps on a hard floor", "water footstep": "footsteps in water",
    "door close": "a door closing", "door open": "a door opening", "fence gate close": "a fence gate closing",
    "fence gate open": "a fence gate opening", "glass door close": "a glass door closing", "glass door open": "a glass door opening",
    "steel door close": "a steel door closing", "steel door open": "a steel door opening",
}


def words(text: str) -> list[str]:
    """Lowercase words of a file or folder name: CamelCase and digits split, junk dropped, WORDS applied."""
    text = re.sub(r"\.(ogg|oga|wav|flac|mp3|opus|ocg|ocd)$", "", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    out: list[str] = []
    for raw in re.split(r"[\s_\-./'()]+", text.lower()):
        if not raw or raw.isdigit() or len(raw) < 2 or raw in JUNK:
            continue
        for w in WORDS.get(raw, raw).split():
            if not w or w in JUNK:
                continue
            if out and out[-1] in (w, w + "s", w + "es"):  # "doors_door_open" -> "door open"
                out[-1] = w
            elif not out or w not in (out[-1] + "s", out[-1] + "es"):
                out.append(w)
    return out


def _generic(ws: list[str]) -> str | None:
    key = " ".join(ws)
    if not ws or all(w in MEANINGLESS for w in ws):
        return None
    for suffix, make in (("die", "{} dying"), ("hit", "{} crying out in pain"), ("hurt", "{} crying out in pain")):
        head = key[: -len(suffix) - 1]
        if key.endswith(" " + suffix) and head in _CREATURES:
            if suffix == "hit" and head in _SILENT_CREATURES:
                make = "{} being hit"
            return make.format(_CREATURES[head])
    if key.endswith(" miss") and key[:-5] in _WEAPONS:
        return f"{_WEAPONS[key[:-5]]} missing"
    if key in _WEAPONS:
        return _WEAPONS[key]
    if key in INSTRUMENTS:
        return f"{key} playing"
    if ws[-1] in ("footstep", "footsteps", "step") and len(ws) > 1:
        return "footsteps on " + " ".join(ws[:-1])
    if ws[0] == "step" and len(ws) > 1:
        return f"footsteps on {' '.join(ws[1:])} ground"
    if len(ws) > 1 and ws[-1] in _ING:
        return " ".join(ws[:-1]) + " " + _ING[ws[-1]]
    return key


def caption(stem: str, folders: tuple[str, ...] = (), template: str = "{}",
            phrases: dict[str, str | None] | None = None) -> str | None:
    """A short English phrase for a sound named ``stem`` inside ``folders``, or None to skip it.

    >>> caption("LRBark_1_LA_cut.ogg")
    'a dog barking'
    >>> caption("DoorCreak.wav")
    'a door creaking'
    >>> caption("LRWeird_3_LA.ogg") is None
    True

    ``phrases`` (a package's own table such as ``zeroad_captions.ZEROAD``) is looked up before ``PHRASES``.
    """
    ws: list[str] = []
    for part in (*folders, stem):
        for w in words(part):
            if w not in ws:
                ws.append(w)
    key = " ".join(ws)
    if phrases is not None and key in phrases:  # a package's own names first (0 A.D.)
        text = phrases[key]
    else:
        text = PHRASES[key] if key in PHRASES else _generic(ws)
    if text is None:
        return None
    return template.format(text)


__all__ = ["INSTRUMENTS", "JUNK", "MEANINGLESS", "PHRASES", "WORDS", "caption", "words"]
