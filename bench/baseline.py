"""The naive baseline: one compiled regular expression per topic, every topic tried on every item.

This is what a first implementation would do, built from the same normalized terms as the matcher
(``bot.match.query`` parses each query, ``bot.match.normalize`` turns the item into the same
``␟key␟key␟…␟`` + ``␞form␞form␞…␞`` streams), so the two can be compared figure for figure and
result for result. For each item, each field is normalized once; then, for every topic:

1. the topic's regex finds each separator at which one of its terms or prefixes starts;
2. there, each of the topic's patterns is checked, giving (field, first token, last token);
3. its query is evaluated over those occurrences by a small evaluator of its own (not the
   matcher's, so agreement means something), then the language and source filters and
   ``min_score`` apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.match.normalize import normalize_text
from bot.match.query import And, Field, Near, Node, Not, Or, Prefix, Term, leaves, parse_query
from bot.model import Item, Topic

__all__ = ["RegexBaseline"]

KEY_SEP = "\x1f"
FORM_SEP = "\x1e"

# (field, first token, last token, the term as written)
Occurrence = tuple[str, int, int, str]


@dataclass(frozen=True, slots=True)
class _RegexTopic:
    topic: Topic
    query: Node
    regex: re.Pattern[str]
    needles: tuple[tuple[str, str, int], ...]  # (pattern, text at a separator, tokens it spans)
    labels: Mapping[str, str]  # pattern → the term as written
    languages: frozenset[str]


class RegexBaseline:
    def __init__(
        self, topics: Iterable[Topic], aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self._topics = [_compile(topic, aliases or {}) for topic in topics]

    def match(self, item: Item) -> list[str]:
        """Ids of the topics ``item`` matches (in topic order)."""
        streams = {
            field: _stream(text)
            for field, text in (("title", item.title), ("summary", item.summary))
            if text
        }
        matched = []
        for compiled in self._topics:
            if not _eligible(compiled, item):
                continue
            found: dict[str, list[Occurrence]] = {}
            for field, (stream, forms_start) in streams.items():
                _find(compiled, field, stream, forms_start, found)
            if not found:
                continue
            evidence = _holds(compiled.query, found, None)
            if evidence is not None and _score(evidence) >= compiled.topic.min_score:
                matched.append(compiled.topic.id)
        return matched


def _compile(topic: Topic, aliases: Mapping[str, Sequence[str]]) -> _RegexTopic:
    query = parse_query(topic.query, aliases)
    labels: dict[str, str] = {}
    for leaf in leaves(query):
        labels.setdefault(leaf.pattern, leaf.text)
    needles = []
    for pattern in labels:
        kind, _, body = pattern.partition(":")
        if kind == "w":
            keys = body.split(" ")
            needles.append((pattern, KEY_SEP + KEY_SEP.join(keys) + KEY_SEP, len(keys)))
        else:
            needles += [(pattern, KEY_SEP + body, 1), (pattern, FORM_SEP + body, 1)]
    bodies = sorted({re.escape(needle[1:]) for _, needle, _ in needles}, key=len, reverse=True)
    regex = re.compile(f"[{KEY_SEP}{FORM_SEP}](?=(?:{'|'.join(bodies)}))")
    languages = frozenset(language.lower() for language in topic.languages)
    return _RegexTopic(topic, query, regex, tuple(needles), labels, languages)


def _stream(text: str) -> tuple[str, int]:
    tokens = normalize_text(text)
    keys = KEY_SEP + KEY_SEP.join(token.key for token in tokens) + KEY_SEP
    return keys + FORM_SEP + FORM_SEP.join(token.form for token in tokens) + FORM_SEP, len(keys)


def _find(
    compiled: _RegexTopic,
    field: str,
    stream: str,
    forms_start: int,
    found: dict[str, list[Occurrence]],
) -> None:
    seen = set()
    for hit in compiled.regex.finditer(stream):
        at = hit.start()
        for pattern, needle, length in compiled.needles:
            if not stream.startswith(needle, at):
                continue
            if at < forms_start:
                first = stream.count(KEY_SEP, 0, at)
            else:
                first = stream.count(FORM_SEP, forms_start, at)
            if (pattern, first) not in seen:
                seen.add((pattern, first))
                label = compiled.labels[pattern]
                found.setdefault(pattern, []).append((field, first, first + length - 1, label))


def _eligible(compiled: _RegexTopic, item: Item) -> bool:
    language = (item.language or "").lower().replace("_", "-").split("-")[0]
    if compiled.languages and language and language not in compiled.languages:
        return False
    sources = compiled.topic.sources
    host = (urlsplit(item.feed_url).hostname or "").lower()
    return not sources or any(source.lower() in host for source in sources)


def _holds(
    node: Node, found: Mapping[str, list[Occurrence]], field: str | None
) -> list[Occurrence] | None:
    """The occurrences that make ``node`` true (empty for a NOT), or ``None`` when it is false."""
    if isinstance(node, Term | Prefix):
        hits = [o for o in found.get(node.pattern, ()) if field is None or o[0] == field]
        return hits or None
    if isinstance(node, And):
        collected: list[Occurrence] = []
        for child in node.children:
            part = _holds(child, found, field)
            if part is None:
                return None
            collected += part
        return collected
    if isinstance(node, Or):
        held = [p for child in node.children if (p := _holds(child, found, field)) is not None]
        return [o for part in held for o in part] if held else None
    if isinstance(node, Not):
        return [] if _holds(node.child, found, field) is None else None
    if isinstance(node, Field):
        return _holds(node.child, found, node.name)
    if isinstance(node, Near):
        lefts, rights = _holds(node.left, found, field), _holds(node.right, found, field)
        close = {
            o
            for a in lefts or ()
            for b in rights or ()
            if a[0] == b[0] and max(b[1] - a[2], a[1] - b[2], 0) <= node.distance
            for o in (a, b)
        }
        return list(close) or None
    raise TypeError(node)


def _score(evidence: list[Occurrence]) -> float:
    in_title: dict[str, bool] = {}
    for field, _, _, label in evidence:
        in_title[label] = in_title.get(label, False) or field == "title"
    return sum(1.5 if title else 1.0 for title in in_title.values())
