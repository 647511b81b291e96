"""Normalization: text and query terms become the same match keys, whatever script or spelling.

Contract: ``normalize_text`` splits a text into word tokens, each with its character offsets in the
ORIGINAL text (so a hit can point back at what the reader saw) and two normalized strings:

- ``key``: the word's match key, stemmed, used for terms and phrases;
- ``form``: the same word folded but not stemmed, used by prefix terms (``evacua*`` must find
  "evacuated" although its key is ``evacu``).

``normalize_term`` and ``normalize_prefix`` apply exactly the same functions to query text, so a
query term meets every text token that has its key.

A word becomes its key in this order (each step is a small function below):

1. Unicode NFKC, case-fold, drop combining marks (stress accents, stray diacritics), soft hyphens
   and zero-width joiners; a Latin possessive ``'s`` goes; then every apostrophe
   (’ ʼ ' ` ‘) goes, so "Mariupol's" → "mariupol", "м'ясо" → "мясо", "Zelens'kyi" → "zelenskyi".
2. Script: a word with more Cyrillic than Latin letters is Cyrillic. Cyrillic words are stemmed in
   Cyrillic (the endings are unambiguous there), then transliterated with ``_CYRILLIC`` below, a
   key table (not a display romanization) that sends Ukrainian and Russian spellings of the same
   name to the same letters: и/і/ї/й/ы → i, є → ie, я → ia, ю → iu, е/ё/э → e, г → h (the
   Ukrainian and modern English reading), ґ → g, х → kh, ь/ъ → nothing. Latin words have y and j
   folded to i first, then are stemmed. Any other script goes through anyascii.
3. Fold spellings: a doubled consonant (or digraph: zhzh) or "ii" after a word's first letter
   becomes single (Odessa/Odesa, Zaporizhzhia/Zaporizhia, Kyiv → kiiv → kiv; but ППО, air
   defence, stays ppo, not the preposition "по"); then Ukrainian ikavism at the end of a stem,
   o/e → i before a final v or zh (Kharkov/Kharkiv, Kiev/Kyiv, Lvov/Lviv, Nikolaev/…laiv,
   Zaporozh(ye)/Zaporizh(zhia)). These two endings are where the Russian and Ukrainian spellings
   of place names differ most and where English words almost never end, so the rule cannot merge
   ordinary English words (see the near-collision tests).
4. Keep only ``[a-z0-9]``.

What does not meet on purpose: h/g (Chernihiv/Chernigov, Luhansk/Lugansk), zh/z and kh/h (they
would merge distinct Cyrillic letters: ж/з, х/г), renamed or exonym pairs (Mykolaiv/Nikolaev,
Dnipro/Dnepr). Those belong to the places gazetteer, through ``@aliases``.

Stemmer choice: a small suffix stripper per script, not simplemma. Measured on this domain,
simplemma (en+uk+ru dictionaries) takes ~3.6 s and ~260 MB to load, and its lemmas do not
conflate what a news topic needs conflated ("evacuation" and "evacuated" → evacuation /
evacuate; евакуація / евакуювати) while getting some place names wrong (ru Мариуполя →
"Мариуполе"). The stripper removes English inflections and the -ation/-ate/-ee/-ian families
(with Porter's measure deciding a final e: plane ≠ plan, fired = fire), Slavic case and adjective
endings (with a minimum stem length), and the final vowel of names, so nominative Cyrillic names
meet their English spelling (Одеса/Odesa → odes, Україна/Ukraine → ukrain); a name ending in two
vowels keeps its last one (Crimea, Korea: not "crime", "core"). A capitalized Ukrainian word in
-ові/-еві/-єві is read as a name's locative, -ов + і (у Харкові, у Львові, у Миколаєві: the -ів
names), so it meets the nominative through step 3; a lowercase one is a dative ending
(президентові → президент). Verb conjugation and genitive plurals are left to prefix terms
(``евакуй*``, ``переговор*``). A lemmatizer can slot in
before the stemmer later without changing any caller.

Speed: the word → (key, form) function is cached (``functools.lru_cache``); a text costs one regex
scan plus a dict lookup per word once its vocabulary is warm. The matcher cuts a text with
``split_words``, takes its keys with ``word_keys`` (no per-word Python code) and works out offsets
with ``word_spans`` only when an item matches. Query terms are cached too: thousands of topics
repeat the same names.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple

from anyascii import anyascii

__all__ = [
    "Token",
    "analyze_word",
    "normalize_prefix",
    "normalize_term",
    "normalize_text",
    "split_words",
    "word_keys",
    "word_spans",
]


class Token(NamedTuple):
    """One word of a text: its match key, its offsets in the original text, its unstemmed form."""

    key: str
    start: int
    end: int
    form: str = ""


_new_token = tuple.__new__

# A word: letters/digits (and the combining marks, soft hyphens and joiners that sit inside words),
# optionally joined by apostrophes: Mariupol's, м'ясо, O'Brien. Hyphens and dashes separate words.
_WORD_CHARS = r"\w\u0300-\u036f\u0483-\u0489\u00ad\u200c\u200d"
_APOSTROPHES = "'’ʼ`‘′"
# Possessive (++, *+): a word is the longest run there is, so never backtrack to look for another.
_WORD_RE = re.compile(rf"[{_WORD_CHARS}]++(?:[{_APOSTROPHES}][{_WORD_CHARS}]++)*+")
_PARTS_RE = re.compile(f"({_WORD_RE.pattern})")  # the same words, and what lies between them

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_APOSTROPHE_TABLE = dict.fromkeys(map(ord, _APOSTROPHES))

# Key transliteration: chosen so Ukrainian and Russian spellings meet, and meet Latin spellings
# after the Latin y/j → i fold. Not meant for display.
_CYRILLIC = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
        "ё": "e", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k",
        "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
        "щ": "shch", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    }
)  # fmt: skip

# Slavic (uk + ru) case and adjective endings, longest first; a stem keeps at least 3 letters.
# Genitive plurals -ів/-ов/-ев are NOT endings here: they end names (Харків, Київ, Лавров).
_ENDINGS_BY_LENGTH = """
    ями ами ією ией иям иях ого ому его ему ими ыми ові еві єві
    ій ий ый ой ая яя ую юю ою ею ое ее ые ие ої ей ем им ым ом ам ям их іх ых ах ях
    ія ия ії ии ію ию ья ье ью ьє ьї
    а я о е є у ю і и ы ь й
"""
_CYRILLIC_ENDINGS = tuple(sorted(_ENDINGS_BY_LENGTH.split(), key=len, reverse=True))
_MIN_CYRILLIC_STEM = 3
# The locative of the -ів/-їв names (Харків → у Харкові) looks like the dative ending -ові.
_NAME_LOCATIVES = ("ові", "еві", "єві")

# Latin suffixes: (suffix, replacement, minimum stem length), tried in order, at most one applies.
_LATIN_SUFFIXES: tuple[tuple[str, str, int], ...] = (
    ("ations", "", 4),
    ("ation", "", 4),
    ("ators", "", 4),
    ("ator", "", 4),
    ("ating", "", 4),
    ("ated", "", 4),
    ("ates", "", 4),
    ("ate", "", 4),
    ("ians", "", 3),
    ("ian", "", 3),
    ("ees", "", 4),
    ("ee", "", 4),
    ("sses", "ss", 2),
    ("ies", "i", 2),
    ("ied", "i", 2),
    ("ings", "", 3),
    ("ing", "", 3),
    ("ed", "", 3),
    ("ia", "", 3),
    ("ie", "", 4),
)
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")
_MIN_NAME_STEM = 4  # Odesa → odes, but area, idea, data stay whole

_VC_RE = re.compile(r"[aeiou]+[^aeiou]+")
_CVC_RE = re.compile(r"[^aeiou][aeiou][^aeiouwx]$")
# Not at the start of a word: there a double is an abbreviation (ППО, air defence), not a spelling.
_DOUBLES_RE = re.compile(r"(?<=.)(zh|kh|ch|sh|ts|[bcdfghklmnpqrstvwxz]|i)\1+")
_IKAVISM_RE = re.compile(r"[oe](?=(?:v|zh)$)")
_NOT_KEY_RE = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=262_144)
def analyze_word(word: str) -> tuple[str, str]:
    """Return ``(key, form)`` for one word as found in text; empty strings if nothing is left."""
    text = _clean(word)
    if not text:
        return "", ""
    if _is_cyrillic(text):
        form = _fold(_romanize(text))
        key = _fold(_romanize(_stem_cyrillic(text, name=word[:1].isupper())))
    else:
        latin = _romanize(text)
        form = _fold(latin)
        key = _fold(_stem_latin(latin))
    return _ikavism(key), form


def normalize_text(text: str) -> list[Token]:
    """Word tokens of ``text`` with their keys and their offsets in ``text`` itself."""
    tokens = []
    for match in _WORD_RE.finditer(text):
        key, form = analyze_word(match.group())
        if key:
            start, end = match.span()
            tokens.append(_new_token(Token, (key, start, end, form)))  # hot loop: skip __new__
    return tokens


def split_words(text: str) -> list[str]:
    """``text`` cut into ``[gap, word, gap, word, …, gap]`` in one regex pass.

    The words are ``normalize_text``'s, the gaps what lies between them (often ``""`` at the
    ends). With ``word_keys`` and ``word_spans`` this is ``normalize_text`` in two halves: the
    matcher takes the keys of every text and the offsets only of texts that match something.
    """
    return _PARTS_RE.split(text)


def word_keys(parts: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys and the forms of the tokens among ``split_words`` parts, in order."""
    pairs = list(map(analyze_word, parts[1::2]))  # the cache, called from C: no Python per word
    if not pairs:
        return (), ()
    keys, forms = zip(*pairs, strict=True)
    if "" in keys:  # a word with nothing left to match is not a token
        pairs = [pair for pair in pairs if pair[0]]
        keys, forms = zip(*pairs, strict=True) if pairs else ((), ())
    return keys, forms


def word_spans(parts: list[str]) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets in the text of the tokens among ``split_words`` parts."""
    bounds = list(accumulate(map(len, parts), initial=0))
    spans = list(zip(bounds[1:-1:2], bounds[2::2], strict=True))
    words = parts[1::2]
    if all(map(itemgetter(0), map(analyze_word, words))):
        return spans
    return [span for span, word in zip(spans, words, strict=True) if analyze_word(word)[0]]


@lru_cache(maxsize=65_536)
def normalize_term(term: str) -> tuple[str, ...]:
    """The keys of a query term or phrase, in order (several for "humanitarian corridor")."""
    return tuple(token.key for token in normalize_text(term))


@lru_cache(maxsize=65_536)
def normalize_prefix(prefix: str) -> tuple[str, ...]:
    """The unstemmed forms of a prefix's words; a prefix term uses exactly one."""
    return tuple(token.form for token in normalize_text(prefix))


def _clean(word: str) -> str:
    text = unicodedata.normalize("NFKC", word).casefold().translate(_INVISIBLE)
    if any(unicodedata.combining(char) for char in text):
        text = "".join(char for char in text if not unicodedata.combining(char))
        text = unicodedata.normalize("NFC", text)
    if len(text) > 2 and text[-2] in _APOSTROPHES and text[-1] == "s" and not _is_cyrillic(text):
        text = text[:-2]
    return text.translate(_APOSTROPHE_TABLE)


def _is_cyrillic(text: str) -> bool:
    cyrillic = sum(1 for char in text if "\u0400" <= char <= "\u04ff")
    return cyrillic > 0 and cyrillic * 2 >= sum(1 for char in text if char.isalpha())


def _romanize(text: str) -> str:
    """Cyrillic through the key table, any other script through anyascii; then y, j → i."""
    text = text.translate(_CYRILLIC)
    if not text.isascii():
        text = anyascii(text).lower()
    return text.replace("y", "i").replace("j", "i")


def _stem_cyrillic(word: str, *, name: bool = False) -> str:
    word = word.replace("ё", "е")
    if name and word.endswith(_NAME_LOCATIVES) and len(word) - 1 > _MIN_CYRILLIC_STEM:
        return word[:-1]  # Харкові → Харков, which ikavism turns into Харків's key
    for ending in _CYRILLIC_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_CYRILLIC_STEM:
            return word[: -len(ending)]
    return word


def _stem_latin(word: str) -> str:
    if word.isdigit():
        return word
    if word.endswith("ski") or word.endswith("skii"):  # Zelensky, Zelenskyy, Zelenskiy → zelensk
        stem = word.rstrip("i")
        return stem if len(stem) >= _MIN_NAME_STEM else word
    for suffix, replacement, min_stem in _LATIN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            stem = word[: -len(suffix)] + replacement
            if suffix in ("ed", "ing", "ings") and _measure(stem) == 1 and _ends_cvc(stem):
                stem += "e"  # fired → fire, hoping → hope (but hopping → hopp → hop)
            return _strip_final_e(stem)
    if word.endswith("es") and word[:-2].endswith(_SIBILANT_ENDINGS) and len(word) >= 5:
        return word[:-2]  # buses, taxes, marches
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) >= 4:
        word = word[:-1]  # talks, strikes, news
    if len(word) - 1 >= _MIN_NAME_STEM and word[-1] in "ao" and word[-2] not in "aeiou":
        return word[:-1]  # Odesa, Dnipro: the vowel a Slavic stem drops too (not Crimea's)
    return _strip_final_e(word)


def _strip_final_e(word: str) -> str:
    """Porter's rule: drop a final e unless the word is short and ends consonant-vowel-consonant."""
    stem = word[:-1]
    if word.endswith("e") and len(stem) >= 3:
        measure = _measure(stem)
        if measure > 1 or (measure == 1 and not _ends_cvc(stem)):
            return stem  # Ukraine → ukrain, ceasefire → ceasefir; plane, strike, fire stay
    return word


def _measure(stem: str) -> int:
    """Porter's m: how many vowel-consonant sequences the stem has."""
    return len(_VC_RE.findall(stem))


def _ends_cvc(stem: str) -> bool:
    return bool(_CVC_RE.search(stem))


def _fold(text: str) -> str:
    return _DOUBLES_RE.sub(r"\1", _NOT_KEY_RE.sub("", text))


def _ikavism(key: str) -> str:
    if len(key) >= 4 and key.endswith(("v", "zh")):
        key = _DOUBLES_RE.sub(r"\1", _IKAVISM_RE.sub("i", key))
    return key
