"""``extractive`` generator: no model at all, always available, the offline default.

It answers with the context's own words: the prompt's sources are split into
sentences (text chunks, OCR, transcript lines, captions; a full stop after
"e.g." or "Dr." ends none), each sentence is scored against the question
(``rank_sentences``: BM25 with sentences as documents, light English stemming,
stop words removed; plus a share for its source's retrieval rank, and what a
matching question or heading right before it passes on), and the best few are
quoted, each followed by the number of the source it came from. A Markdown
heading (``## Revenue``), a fenced code block and a question that restates the
user's are never quoted as its answer::

    The Eiffel Tower is 330 metres tall [1]. It was finished in 1889 [3].

Without question words or when nothing matches, it says so and lists the
closest sources by their first sentence, best first, still cited. When the
question came with a picture (``mmrag ask --image photo.jpg "where can I buy
this?"``), the sources are the items most similar to it: the answer quotes any
sentence matching the words, then lists the closest items with their first two
sentences (name, price, shop ...), each cited. A comparison over records
("which item costs less than 20?") is answered from their typed fields
(``fieldmatch.py``). It never invents text, so its
citations always point at the sentence they quote.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from mmrag import markdown
from mmrag.config import Config
from mmrag.generate.base import StreamingGenerator
from mmrag.generate.prompt import ContextItem, Prompt, said_fields
from mmrag.operators import symbols
from mmrag.option_terms import option_key, options

MAX_SENTENCES = 3
MAX_PER_SOURCE = 2
MAX_SENTENCE_CHARS = 400
NAMED_SHARE = 0.5  # a record is named by a question that holds at least this share of its title's words
MIN_RELATIVE = 0.35  # a quoted sentence scores at least this share of the best one
K1, B = 1.2, 0.75
HEADING_SHARE = 1.0  # what a matching question passes to the sentence after it (then halved per sentence)
ECHO_JACCARD = 0.5  # a question sharing this much of its terms with the user's restates it (never quoted)
RANK_PRIOR = 0.3  # what a matching sentence gets from its source's retrieval rank: RANK_PRIOR / n for [n]
LABEL_SHARE = 0.5  # what a sentence labelled with what the question asks about gets (``label_matches``)

STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "tell", "show", "give", "find", "please", "about", "does", "did", "can", "much", "many"]
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")  # CJK full stops need no space after them
_LINE_BREAKS = re.compile(r"\n+")
# a full stop after these ends no sentence ("e.g. (1, 2)", "Dr. Smith", "Fig. 3") ...
_ABBREVIATION = re.compile(
    r"\b(?:(?i:e\.g|i\.e|cf|vs|viz|approx|incl|pp)|Mr|Mrs|Ms|Dr|Prof|St|Mt|No|Nos|Fig|Figs|Eq|Sec|Ch|Vol)\.$"
)
# an initial: one capital at the start, after a name or another initial, or before another initial
# ("John F. Kennedy", "by J. R. R. Tolkien"; not "behind building B. The door")
_INITIAL = re.compile(r"(?:^|(?:^|\s)(?:[A-Z]\.|[A-Z][a-z]+)\s)[A-Z]\.$")
_LONE_CAPITAL = re.compile(r"(?:^|\s)[A-Z]\.$")
_STARTS_WITH_INITIAL = re.compile(r"[A-Z]\.(?:\s|$)")
# a stop that belongs to a symbol ("#! followed by the path", "C++. and"): a lower-case word after it goes on
_SYMBOL_STOP = re.compile(r"[^\w\s\"'”’)\]»][.!?]$")
# a page reference: "p." before a number ends no sentence ("see layers (p. 52) for more")
_PAGE_REF = re.compile(r"\b[pP]\.$")
# ... and after these none when the next word starts in lower case ("etc. and", but "etc. The")
_ABBREVIATION_BEFORE_LOWER = re.compile(
    r"\b(?:(?i:etc|et al|esp|resp|ca)|Inc|Ltd|Co|Corp|Jr|Sr|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$"
)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stem: plurals, ``-ing``, ``-ed`` and a final ``e`` go, so ``create``, ``creates``,
    ``created`` and ``creating`` all meet at ``creat``, ``classes`` at ``class``, ``cities`` at ``city`` (pure).

    Not Porter2 (Snowball): measured on the Python glossary (bench/bench_ask_terms.py), it conflates the
    words a technical text keeps apart (``iterable`` and ``iterator`` both become ``iter``; ``general`` and
    ``generator`` nearly) and quoted the right definition first 5 points less often than the light stemmer
    before this one (0.415 against 0.466)."""
    if len(word) > 4 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes")) or (len(word) > 4 and word.endswith(("xes", "zes"))):
        word = word[:-2]  # classes, watches, wishes, boxes
    elif len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif len(word) >= 5 and word.endswith("ing") and _VOWEL.search(word[:-3]):
        word = _undouble(word[:-3])
    elif len(word) >= 4 and word.endswith("ed") and not word.endswith("eed") and _VOWEL.search(word[:-2]):
        word = _undouble(word[:-2])
    return word[:-1] if len(word) > 2 and word.endswith("e") else word


_VOWEL = re.compile(r"[aeiouy]")


def _undouble(base: str) -> str:
    """``runn`` -> ``run``, ``stopp`` -> ``stop`` (not ``fall``, ``miss``, ``buzz``)."""
    return base[:-1] if len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz" else base


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed content words; and a command-line option as written (``--keep``, ``-C``: a
    short option keeps its case, ``-c`` is another one), so "What does the --all option do?" matches the
    line of ``--all`` and not every "all" (a stopword otherwise)."""
    words = [stem(w) for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]
    words += [option_key(o) for o in options(text)]
    return words


def label_matches(sentence: str, query: set[str]) -> bool:
    """The sentence is the entry of what the question asks about: it starts with a label (``--keep: Don't
    delete the input files``, ``coroutine: Coroutines are ...``, a definition list's term or a manual's
    option tag, as the readers write them) one of whose comma-separated names has only words of the
    question and at least half of them: "element: pointer to the structure" is not the entry of
    "What does asn1_create_element do?" (pure)."""
    names = [set(terms(name)) for name in markdown.defined_names(sentence)]
    asked = len(query - {_ANSWER_TERM})
    return any(name and name <= query and 2 * len(name) >= asked for name in names)


def split_sentences(text: str) -> list[str]:
    """Sentences and lines; long ones cut at a word boundary near ``MAX_SENTENCE_CHARS``. A fenced code block
    (its paragraphs, up to the closing fence) is not split at its full stops: each of its lines stays one
    piece that starts with ```` ``` ```` (``is_code``), so no statement of it is quoted as a sentence
    (``>>> json.dumps([1, 2]) '[1, 2]'`` was)."""
    out = []
    in_code = False
    for line in _LINE_BREAKS.split(text):
        fenced = line.lstrip().startswith(("```", "~~~"))
        if in_code or fenced:
            flat = " ".join(line.split())
            closes = flat.endswith(("```", "~~~")) and (in_code or len(flat) > 3)
            in_code = not closes
            out.append(_cut(flat if fenced else "``` " + flat))
            continue
        read = markdown.as_read(line)
        # a heading is one piece whatever its stops: "## 2.1. Directory layout" split at "2.1." left a
        # "Directory layout" that was no longer a heading and was quoted as an answer
        for piece in [read] if markdown.is_heading(read.lstrip()) else _join_abbreviations(_SENTENCE_END.split(read)):
            piece = " ".join(piece.split())
            if len(piece) < 3 or piece in ("(picture attached)", "(no text description)") or not _WORD.search(piece):
                continue
            out.append(_cut(piece))
    return out


def _cut(piece: str) -> str:
    return piece[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " …" if len(piece) > MAX_SENTENCE_CHARS else piece


def _join_abbreviations(pieces: list[str]) -> list[str]:
    """Undo the splits a line's sentence split made after an abbreviation's full stop."""
    out: list[str] = []
    for piece in pieces:
        last = out[-1] if out else ""
        if out and (_ABBREVIATION.search(last) or _INITIAL.search(last)
                    or (_LONE_CAPITAL.search(last) and _STARTS_WITH_INITIAL.match(piece))
                    or (_PAGE_REF.search(last) and piece[:1].isdigit())
                    or ((_ABBREVIATION_BEFORE_LOWER.search(last) or _SYMBOL_STOP.search(last)) and not piece[:1].isupper())):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def is_question(sentence: str) -> bool:
    """The sentence asks something (an FAQ's heading, an interviewer's line)."""
    return sentence.rstrip(" \"'”’)»").endswith(("?", "？"))


def is_code(sentence: str) -> bool:
    """A fenced code block (```` ``` ````; Markdown files and notebooks' code cells): read, never quoted."""
    return sentence.startswith(("```", "~~~"))


def is_heading(sentence: str) -> bool:
    """A Markdown heading line (``## Revenue``; Word headings are written so too): a label for what
    follows, never an answer itself (``markdown.is_heading``)."""
    return markdown.is_heading(sentence)


def restates(sentence_terms: Sequence[str], query: set[str]) -> bool:
    """A question sentence that says what the user asked (its terms and the question's overlap by at
    least ``ECHO_JACCARD``): an FAQ heading above the answer sought, not an answer itself."""
    mine = set(sentence_terms)
    return bool(mine) and len(mine & query) / len(mine | query) >= ECHO_JACCARD


@dataclass(frozen=True)
class Scored:
    number: int  # the source's [n]
    sentence: str
    score: float
    position: int  # sentence index inside its source


def bm25(query: set[str], sentences: Sequence[list[str]]) -> list[float]:
    """BM25 of each sentence (its terms) against the query terms, sentences as the documents (pure)."""
    n = len(sentences)
    if not n or not query:
        return [0.0] * n
    avg_len = sum(len(w) for w in sentences) / n or 1.0
    df: Counter[str] = Counter()
    for words in sentences:
        df.update(set(words) & query)
    out = []
    for words in sentences:
        tf = Counter(w for w in words if w in query)
        score = 0.0
        for term, freq in tf.items():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * freq * (K1 + 1) / (freq + K1 * (1 - B + B * len(words) / avg_len))
        out.append(score)
    return out


def passed_on(scores: Sequence[float], questions: Sequence[bool], items: Sequence[int]) -> list[float]:
    """What a matching question (or heading) passes to the sentences after it, up to the next one of the
    same source: an FAQ heading, a section heading or an interviewer's question that matches says the
    answer follows it. The first
    sentence after it gets ``HEADING_SHARE`` of its score, each later one half of that again (pure)."""
    out = [0.0] * len(scores)
    carry, item = 0.0, None
    for i, (score, question, number) in enumerate(zip(scores, questions, items)):
        if number != item:
            carry, item = 0.0, number
        if question:
            carry = score * HEADING_SHARE
            continue
        out[i] = carry
        carry /= 2
    return out


_ANSWER_TERM = "\x00answer"  # a term no text has: a record field of the kind the question asks for
_WH_FIELDS = {  # what a question word asks for, by the field names records carry (catalogues, calendars, cards, .bib)
    "who": {"authors", "author", "organizer", "attendees", "name", "editor", "artist", "creator", "owner", "contact"},
    "where": {"location", "address", "published in", "venue", "place", "city", "country", "where"},
    "when": {"when", "starts", "date", "year", "created", "due", "birthday", "time", "deadline", "repeats"},
}
_FIELD = re.compile(r"^\s*([\w][\w ]{0,30}?):\s")


def answer_fields(question: str) -> set[str]:
    """The record fields a question's wh-words ask for (``who`` → authors, organizer ...) (pure)."""
    asked = {w.lower() for w in re.findall(r"\b(who|whom|whose|where|when)\b", question, re.IGNORECASE)}
    asked = {"who" if w in ("whom", "whose") else w for w in asked}
    return set().union(*(_WH_FIELDS[w] for w in asked)) if asked else set()


def field_of(sentence: str) -> str:
    """The field a record's sentence states (``authors: Anna Keeper, ...`` → ``authors``), else ``""`` (pure)."""
    m = _FIELD.match(sentence)
    return m.group(1).strip().lower() if m else ""


def rank_sentences(question: str, items: Sequence[ContextItem]) -> list[Scored]:
    """Every context sentence scored against ``question``; best first, zero scores left out.

    1. lexical: BM25 (``bm25``), scaled so the best sentence has 1;
    2. the source's retrieval rank: a sentence that shares words with the question gets
       ``RANK_PRIOR / n`` from its source ``[n]`` (search already read the whole chunk: among sentences that
       match alike, the one in the better source is the likelier answer);
    3. what a matching question or heading right before it passes on (``passed_on``);
    4. ``LABEL_SHARE`` when it is the entry of what the question names (``label_matches``: ``--keep: ...``
       for "what does --keep do?", a glossary's ``coroutine: ...`` for "what is a coroutine?").

    A heading (``is_heading``) and a question that restates the user's (``restates``: an FAQ heading)
    are never candidates; other questions are (what was asked in a recording can be the answer). Ties
    go to the better-ranked source, then to the earlier sentence.
    """
    asked_symbols = set(symbols(question))
    query = set(terms(question)) | asked_symbols
    if not query:
        return []

    def words_of(text: str) -> list[str]:  # a text's terms, and the operators the question asks about that it has
        own = terms(text)
        return own + [s for s in symbols(text) if s in asked_symbols] if asked_symbols else own

    # a PDF's table of contents or index (``Hit.is_contents``) is titles and page numbers: it names the
    # answer's section, it never says the answer ("105 Filetype .")
    docs = [(item.number, pos, sentence) for item in items if not item.hit.is_contents
            for pos, sentence in enumerate(split_sentences(item.said))]
    if not docs:
        return []
    # a record's fields are all about what its title names: "phone: +49 170 ..." on Ana Silva's card answers
    # "Ana's phone number", so a sentence of a record that matches the question by a word its first line (the
    # title and short fields) lacks is matched with the title's words too; one that adds no such word ("kind:
    # book" under "The TeXbook (Knuth) — ... kind: book") is not: the first line already says it
    about = {item.number: words_of(str(item.hit.meta.get("title", ""))) for item in items if item.hit.fields}
    own_terms = [words_of(sentence) for _, _, sentence in docs]  # each sentence's terms, once
    first = {number: query.intersection(own) for (number, pos, _), own in zip(docs, own_terms) if pos == 0 and number in about}
    # "who wrote ...", "where is ...": a record's field that answers that kind of question ("authors: ...",
    # "location: ...") matches it, as if the question had named the field (the wh-word itself is a stopword)
    wanted = answer_fields(question)
    # ... of a record the question is about (one sharing a word with it): "repeats: every year" on Ana's
    # birthday answers no "When is yoga?"
    asked_about = {number for (number, _, _), own in zip(docs, own_terms) if number in about and query.intersection(own)}
    if wanted and about:
        query = query | {_ANSWER_TERM}
    # a document's sentences are about what its title names: on the page titled "MV(1)", "-f, --force: do not
    # prompt before overwriting" answers "what does --force do in mv?" though it never says "mv"; so a sentence
    # that matches the question by a word of its own also has the title's words the question asks with (not
    # one that matches nothing: the title alone is no answer)
    topic = {item.number: [w for w in dict.fromkeys(words_of(str(item.hit.meta.get("title", "")))) if w in query]
             for item in items if not item.hit.fields}
    # a table row's labels ("Where to get: ...") are on every row: a row that matches the question by its
    # labels alone is not what it asks about ("Where can I get hornctl?" is not answered by lampsim's row)
    labels = {item.number: label_terms(item.hit.text or "", item.hit.fields) for item in items if item.hit.fields}
    # ... and so are they on the page's own lines of that table: its header line ("Value | Codecs | Meaning")
    # and a row matched by a label alone answer no "What is the meaning of 'namereplace'?"
    table_labels = set().union(*labels.values())
    words: list[list[str]] = []
    for (number, _, sentence), own in zip(docs, own_terms):
        if labels.get(number) and not query.intersection(own).difference(labels[number]):
            own = [w for w in own if w not in labels[number]]
        elif (number not in labels and table_labels and markdown.CELL_BAR in sentence
              and not query.intersection(own).difference(table_labels)):
            own = [w for w in own if w not in table_labels]
        if number in asked_about and field_of(sentence) in wanted:
            own = [*own, _ANSWER_TERM]
        if topic.get(number) and query.intersection(own):
            own = own + [w for w in topic[number] if w not in own]
        adds = number in about and bool(query.intersection(own) - first.get(number, set()))
        words.append(own + ([w for w in about[number] if w not in own] if adds else []))
    headings = [is_heading(d[2]) for d in docs]
    asked = [is_question(d[2]) or h for d, h in zip(docs, headings)]
    lexical = bm25(query, words)
    top = max(lexical)
    if top <= 0:
        return []
    rank = {item.number: i + 1 for i, item in enumerate(items)}
    base = [score / top + RANK_PRIOR / rank[d[0]] + LABEL_SHARE * label_matches(d[2], query) if score > 0 else 0.0
            for score, d in zip(lexical, docs)]
    extra = passed_on(base, asked, [d[0] for d in docs])
    scores = [b + e for b, e in zip(base, extra)]
    scored = [Scored(number, sentence, score, pos)
              for (number, pos, sentence), score, q, h, w in zip(docs, scores, asked, headings, words)
              if score > 0 and not h and not is_code(sentence) and not (q and restates(w, query))]
    scored.sort(key=lambda s: (-s.score, s.number, s.position))
    return scored


def label_terms(text: str, fields: Mapping[str, object]) -> set[str]:
    """The words of a record's labels that none of its values has (``where``, ``get`` of ``Where to get:
    http://...``; not ``include`` of ``Include path: /usr/include``) (pure)."""
    found, _ = said_fields(" ".join(text.split()), fields)
    label = {w for _, clause in found for w in terms(clause.split(": ", 1)[0])}
    return label - {w for _, clause in found for w in terms(clause.split(": ", 1)[1])}


def row_title(sentence: str) -> str | None:
    """The first cell of a table's row written as a line of text (``iso8859_11 | iso-8859-11, thai | Thai
    languages``: what the row is about), ``None`` for a sentence that is no such line (pure)."""
    head, bar, _ = sentence.partition(markdown.CELL_BAR)
    return head.strip() if bar and head.strip() else None


def title_share(asked: AbstractSet[str], title: str) -> float:
    """The share of a title's words (its operators too: a row titled ``x % y`` is named less by "What is the
    result of x and y?" than ``x and y`` is) that the question's words (``asked``) hold; 0 for a title of none
    (pure)."""
    words = {*terms(title), *symbols(title)}
    return len(asked & words) / len(words) if words else 0.0


def named_records(question: str, titles: Mapping[int, str]) -> set[int]:
    """The records whose titles the question names: those with the largest share of their title's words in the
    question (ties all), if that is at least half of the title's words; none else ("Do you have hats?" names a
    kind of thing, not the "Linen summer hat" whose title is the shortest) (pure)."""
    asked = {*terms(question), *symbols(question)}
    share = {number: title_share(asked, title) for number, title in titles.items()}
    best = max(share.values(), default=0.0)
    return {number for number, value in share.items() if value == best} if best >= NAMED_SHARE else set()


@dataclass(frozen=True)
class TableRows:
    """The table rows (records) of an answer's context as its question sees them: each one's words (its labels
    too: a table's header line "Name Purpose Where to get" is its words), the ones the question names by their
    title (``named_records``), and how much it names them."""

    words: Mapping[int, frozenset[str]]
    named: frozenset[int]
    asked: frozenset[str]  # the question's terms and operators
    named_share: float  # the share of a named row's title the question holds

    @classmethod
    def of(cls, question: str, items: Sequence[ContextItem]) -> TableRows:
        words = {item.number: frozenset(terms(f"{item.hit.text or ''} {item.said}")) for item in items if item.hit.fields}
        titles = {item.number: str(item.hit.meta.get("title", "")) for item in items if item.number in words}
        named = named_records(question, titles)
        asked = frozenset({*terms(question), *symbols(question)})
        share = max((title_share(asked, titles[number]) for number in named), default=0.0)
        return cls(words, frozenset(named), asked, share)

    def another_row(self, cand: Scored, said: AbstractSet[str]) -> bool:
        """The sentence is a row the question does not name, when it names one: a row (or its line in a page's
        text, every word of it the row's) matched by a word many rows share ("tier" of "Tier 1") or a part of
        its title (euc_jisx0213 for "... of shift_jisx0213?"), or a page's own line of a table's row whose first
        cell the question names less than it names them ("iso8859_11 | iso-8859-11, thai | Thai languages" for
        "... of iso8859_6?"); ``said``: the sentence's terms."""
        if not self.named:
            return False
        twin = cand.number if cand.number in self.words else next(
            (n for n, own in self.words.items() if said and said <= own), None)
        if twin is not None and twin not in self.named:
            return True
        title = row_title(cand.sentence) if cand.number not in self.words else None
        return title is not None and title_share(self.asked, title) < self.named_share

    def said_by(self, cand: Scored, said: AbstractSet[str], quoted: Sequence[int]) -> bool:
        """Another source's sentence whose every word a quoted row holds adds nothing (a table's row quoted, the
        page's own lines of it, "gpsim PIC simulator http", are no second answer); prose is not measured so:
        "They are not Debian; they are Debian based" says what "... is Debian-based" does not."""
        return bool(said) and any(number != cand.number and said <= self.words[number] for number in quoted
                                  if number in self.words)


def compose(
    question: str, items: Sequence[ContextItem], max_chars: int = 1200, image_query: bool = False
) -> list[str]:
    """The answer as a list of pieces (one per quoted sentence or listed source, each with its citation).

    ``image_query``: the question came with a picture (the sources were retrieved
    as similar to it): after any sentence that answers the words, the closest
    items are listed with their first two sentences (a product's name, price, shop).
    """
    if not items:
        return ["I found no indexed sources for this question."]
    from mmrag.generate.fieldmatch import answer_from_fields

    by_fields = answer_from_fields(question, items)  # "which item costs less than 20?" over records
    if by_fields:
        return by_fields
    chosen: list[Scored] = []
    per_source: Counter[int] = Counter()
    seen: set[str] = set()
    # a picture query over a catalogue: the listed items below are the answer; quoting them twice adds nothing
    records_only = image_query and all(item.hit.fields for item in items[:MAX_SENTENCES])
    ranked = [] if records_only else rank_sentences(question, items)
    floor = ranked[0].score * MIN_RELATIVE if ranked else 0.0
    rows = TableRows.of(question, items)
    quoted: list[int] = []  # the source of each quoted sentence
    for cand in ranked:
        if cand.score < floor:
            break
        key = cand.sentence.lower()
        if key in seen or per_source[cand.number] >= MAX_PER_SOURCE:
            continue
        said = set(terms(cand.sentence))  # read once for both rules
        if rows.another_row(cand, said) or rows.said_by(cand, said, quoted):
            continue
        chosen.append(cand)
        quoted.append(cand.number)
        seen.add(key)
        per_source[cand.number] += 1
        if len(chosen) >= MAX_SENTENCES:
            break
    # a sentence another quoted one of its source holds is said already (a record's field line repeats what
    # its first line lists: "repeats: every Tuesday" under "Yoga class — ... — repeats: every Tuesday")
    chosen = [c for c in chosen if not any(o is not c and o.number == c.number and len(o.sentence) > len(c.sentence)
                                           and c.sentence.lower().rstrip(".") in o.sentence.lower() for o in chosen)]
    # a page's own lines of a table whose rows are quoted ("//example.org/a/ hornctl Fog horn control http",
    # the wrap of one row and the start of the next) say nothing the rows do not
    covered = set().union(*(rows.words[number] for number in quoted if number in rows.words))
    chosen = [c for c in chosen if c.number in rows.words or not (words := set(terms(c.sentence))) or not words <= covered]
    chosen = _records_in_order(chosen, set(rows.words))
    pieces: list[str] = []
    used = 0
    for cand in chosen:
        piece = _cite_inside(cand.sentence, cand.number)
        if pieces and used + len(piece) > max_chars:
            break
        pieces.append(piece if not pieces else " " + piece)
        used += len(piece)
    if chosen and not image_query:
        return pieces
    if image_query:
        lead = "Closest matches to your picture:"
    elif not terms(question):
        lead = "Closest matches:"
    else:
        lead = "No source states this directly. The closest matches:"
    pieces.append(("\n\n" if pieces else "") + lead)
    for item in items[:MAX_SENTENCES]:
        pieces.append(f"\n- {_summary(item, 2 if image_query else 1)} [{item.number}]")
    return pieces


def _records_in_order(chosen: list[Scored], records: set[int]) -> list[Scored]:
    """The sentences quoted from one record in the record's own order, where its best one was: "Yoga class — Tue
    1 Dec 2026, 18:00 [1]. repeats: every week on Tuesday [1]." reads as the card does (a document's sentences
    keep their score order: the best answer first) (pure)."""
    out: list[Scored] = []
    for cand in chosen:
        if cand.number not in records:
            out.append(cand)
        elif not any(c.number == cand.number for c in out):
            out.extend(sorted((c for c in chosen if c.number == cand.number), key=lambda c: c.position))
    return out


def _summary(item: ContextItem, sentences: int) -> str:
    if item.hit.fields:  # a record's first line is its name, price, link ...
        sentences = 1
    found = split_sentences(item.said)[:sentences]
    return " ".join(found) if found else item.hit.label()


def _with_stop(sentence: str) -> str:
    """The sentence with a full stop (one that led into a list or code, ``file:``, ends with a stop instead:
    what it led to is not quoted)."""
    if sentence[-1:] in ":;,：；，" and len(sentence) > 1:
        sentence = sentence[:-1].rstrip()
    return sentence if sentence[-1:] in ".!?…" else sentence + "."


def _cite_inside(sentence: str, number: int) -> str:
    """``It is tall.`` -> ``It is tall [1].`` (citation before the final stop; before a stop the answer
    adds too: ``Where to get: http://example.org/`` -> ``... http://example.org/ [1].``)."""
    text = _with_stop(sentence)
    if text != sentence and text.endswith(".") and not sentence.endswith("."):
        return f"{text[:-1]} [{number}]."
    # a stop after a word ends the sentence; after a symbol it is part of it ("must begin with #!")
    if text[-1] in ".!?" and len(text) > 1 and (text[-2].isalnum() or text[-2] in ")\"'”’»%"):
        return f"{text[:-1]} [{number}]{text[-1]}"
    return f"{text} [{number}]" + ("." if text[-1] in ".!?" else "")


def attribute(text: str, items: Sequence[ContextItem], min_coverage: float = 0.6, min_terms: int = 2) -> int | None:
    """The source an uncited answer most likely came from, or ``None``.

    Post-hoc attribution for models that do not write citations (small base
    models): the source whose text holds the largest share of the answer's
    content words, if that share is at least ``min_coverage`` and covers at
    least ``min_terms`` words. Ties go to the better-ranked source.
    """
    words = set(terms(text))
    if len(words) < min_terms:
        return None
    best, best_cov = None, 0.0
    for item in items:
        shared = words & set(terms(item.body))
        cov = len(shared) / len(words)
        if len(shared) >= min_terms and cov >= min_coverage and cov > best_cov:
            best, best_cov = item.number, cov
    return best


class ExtractiveGenerator(StreamingGenerator):
    """Quotes the best-matching context sentences with their citations; needs no model."""

    name = "extractive"
    vision = False

    def __init__(self, max_chars: int = 1200) -> None:
        self.max_chars = max_chars

    def stream(self, prompt: Prompt) -> Iterator[str]:
        yield from compose(prompt.question, prompt.items, self.max_chars, image_query=prompt.query_image is not None)


def build(config: Config) -> ExtractiveGenerator:
    """Registry factory (``generator`` kind, name ``extractive``)."""
    return ExtractiveGenerator(max_chars=max(200, config.generate.max_new_tokens * 4))


__all__ = ["ExtractiveGenerator", "TableRows", "attribute", "build", "compose", "named_records", "rank_sentences", "row_title",
           "split_sentences", "stem", "terms", "title_share"]
