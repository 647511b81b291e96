"""The topic query language: a query string becomes a small, validated syntax tree.

Grammar, loosest binding first (NOT binds tighter than AND, AND tighter than OR)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          two terms side by side mean AND
    unary    := ("NOT" | "-") unary | primary   "a NOT b" is "a AND NOT b"
    primary  := "(" or_expr ")"
              | field ":" primary               field is title or summary
              | "NEAR/" n "(" or_expr "," or_expr ")"   a and b at most n words apart
              | '"' words '"'                   a phrase: these words, in this order
              | word "*"                        a prefix: evacu* (at least 3 letters)
              | "@" name                        an alias: any of its entries
              | word

Decisions:

- Operators are the uppercase words ``AND``, ``OR``, ``NOT``, ``NEAR/n``. A bare lowercase or
  mixed-case ``and``/``or``/``not`` is rejected with a hint rather than silently searched for as a
  word, because "kyiv or kiev" almost always means OR; quote it ("or") to search for the word.
- A word that normalizes to several keys ("Russia-Ukraine", "U.S.") is a phrase.
- Curly and guillemet quotes count as quotes and any dash before a term counts as ``-``, because
  phones type them.
- ``NEAR/n(a, b)``: a and b in the same field, either order, at most n-1 words between them
  (``NEAR/1`` means adjacent). Its operands must have positions: terms, phrases, prefixes,
  aliases, or OR-groups of them.
- ``title:`` and ``summary:`` scope the one primary after them: ``title:kyiv strike`` is
  ``(title:kyiv) AND strike``; write ``title:(…)`` for more. Scopes do not nest.
- A query must need at least one term to be present (``NOT sport`` alone is rejected): the matcher
  only looks at topics whose terms occur in an item.
- An alias entry is a literal name, not a query: a word or several words (a phrase), optionally
  ending in ``*``. Aliases are resolved at parse time, so a compiled query has no references.

Every problem raises ``QueryError`` with the 1-based column it concerns; nothing else escapes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeAlias

from bot.errors import QueryError
from bot.match.normalize import normalize_prefix, normalize_term

__all__ = [
    "FIELDS",
    "And",
    "Expansions",
    "Field",
    "Leaf",
    "Near",
    "Node",
    "Not",
    "Or",
    "Prefix",
    "Term",
    "leaves",
    "parse_query",
]

FIELDS = ("title", "summary")
MAX_QUERY_LENGTH = 2000
MAX_DEPTH = 32
MAX_NEAR = 50
MIN_PREFIX = 3


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase: ``keys`` are its normalized words, in order.

    ``pattern`` names what the matcher looks for; equal patterns are the same search, and the same
    string object (interned), so thousands of topics matching an item compare them by identity
    in memory that is already in the CPU cache.
    """

    text: str
    keys: tuple[str, ...]
    column: int
    pattern: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", sys.intern("w:" + " ".join(self.keys)))


@dataclass(frozen=True, slots=True)
class Prefix:
    """A word prefix; ``form`` is normalized without stemming (see ``normalize.Token.form``)."""

    text: str
    form: str
    column: int
    pattern: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", sys.intern("p:" + self.form))


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    distance: int
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    child: Node


Node: TypeAlias = Term | Prefix | And | Or | Not | Near | Field
Leaf: TypeAlias = Term | Prefix


def leaves(node: Node) -> Iterator[Leaf]:
    """Every term and prefix of a query, depth first, left to right."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, Term | Prefix):
            yield node
        elif isinstance(node, And | Or):
            stack += reversed(node.children)
        elif isinstance(node, Near):
            stack += (node.right, node.left)
        else:
            stack.append(node.child)


Expansions: TypeAlias = dict[tuple[str, int], Node]


def parse_query(
    text: str,
    aliases: Mapping[str, Sequence[str]] | None = None,
    *,
    expansions: Expansions | None = None,
) -> Node:
    """Parse and validate a topic query; raise ``QueryError`` with a column on any problem.

    ``expansions`` keeps the ``@alias`` subtrees made so far, by alias and column, for a caller
    that parses thousands of queries over the same ``aliases``: a subtree is immutable, so it is
    shared, not rebuilt (``@kyiv`` is dozens of terms).
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is too long ({MAX_QUERY_LENGTH} characters at most)")
    tokens = _Lexer(text).tokens()
    parser = _Parser(tokens, aliases or {}, len(text))
    if expansions is not None:
        parser.expansions = expansions
    node = parser.parse()
    if _holds_without_terms(node):
        raise QueryError("the query needs at least one term that is not negated", position=1)
    return node


# --- lexer -------------------------------------------------------------------------------------

_OPEN_QUOTES = '"“”„«'
_CLOSE_QUOTES = '"“”»'
_DASHES = "-‐‑‒–—−"
_SPECIAL = set('()",:*@') | set(_OPEN_QUOTES) | set(_CLOSE_QUOTES)
_OPERATORS = {"AND", "OR", "NOT"}
# Thousands of topics are parsed at start-up: scan spaces and words with one regex call each, and
# take the commonest tokens (punctuation, a plain word) in one call, leaving the rest to _next.
_SPACES_RE = re.compile(r"\s*")
_NOT_WORD = re.escape("".join(sorted(_SPECIAL)))
_WORD_RE = re.compile(f"[^\\s{_NOT_WORD}]*")
_PLAIN_RE = re.compile(
    f"\\s*+(?:([(),])|([^\\s{_NOT_WORD}{re.escape(_DASHES)}][^\\s{_NOT_WORD}]*+)(?![:*]))"
)


class _Token(NamedTuple):
    kind: str  # word phrase prefix alias and or not minus ( ) , field near end
    text: str
    column: int
    number: int = 0


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def tokens(self) -> list[_Token]:
        found = []
        while True:
            plain = _PLAIN_RE.match(self.text, self.i)
            if plain is not None and (token := _plain_token(plain)) is not None:
                self.i = plain.end()
            elif (token := self._next()) is None:
                break
            found.append(token)
        found.append(_Token("end", "end of query", len(self.text) + 1))
        return found

    def _next(self) -> _Token | None:
        text = self.text
        spaces = _SPACES_RE.match(text, self.i)
        self.i = spaces.end() if spaces else self.i
        if self.i >= len(text):
            return None
        start, char = self.i, text[self.i]
        column = start + 1
        if char in "(),":
            self.i += 1
            return _Token(char, char, column)
        if char in _OPEN_QUOTES:
            return self._phrase(start)
        if char == "@":
            return self._alias(start)
        if char in _DASHES:
            self.i += 1
            if self.i >= len(text) or text[self.i].isspace():
                raise QueryError(f"'{char}' must be followed by a term to exclude", column)
            return _Token("minus", char, column)
        if char in _SPECIAL:
            raise QueryError(f"unexpected '{char}'", column)
        return self._word(start)

    def _phrase(self, start: int) -> _Token:
        end = start + 1
        while end < len(self.text) and self.text[end] not in _CLOSE_QUOTES:
            end += 1
        if end >= len(self.text):
            raise QueryError("this quote is never closed", start + 1)
        self.i = end + 1
        if self.i < len(self.text) and self.text[self.i] == "*":
            raise QueryError("'*' must end a word, not a phrase", self.i + 1)
        return _Token("phrase", self.text[start + 1 : end], start + 1)

    def _alias(self, start: int) -> _Token:
        end = start + 1
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_-"):
            end += 1
        if end == start + 1:
            raise QueryError("'@' must be followed by an alias name", start + 1)
        self.i = end
        return _Token("alias", self.text[start + 1 : end], start + 1)

    def _word(self, start: int) -> _Token:
        text = self.text
        word_match = _WORD_RE.match(text, start)
        end = word_match.end() if word_match else start
        word, column = text[start:end], start + 1
        self.i = end
        following = text[end] if end < len(text) else ""
        if following == ":":
            self.i += 1
            if word.lower() not in FIELDS:
                raise QueryError(
                    f"unknown field '{word}:' (fields are title: and summary:)", column
                )
            return _Token("field", word.lower(), column)
        if following == "*":
            self.i += 1
            after = text[self.i] if self.i < len(text) else " "
            if not (after.isspace() or after in "),"):
                raise QueryError("'*' must end a word", end + 1)
            return _Token("prefix", word, column)
        if word in _OPERATORS:
            return _Token(word.lower(), word, column)
        if len(word) <= 3 and word.upper() in _OPERATORS:  # upper() never makes a word shorter
            raise QueryError(
                f"'{word}' is ambiguous: write {word.upper()} for the operator, "
                f'or "{word}" in quotes to search for the word',
                column,
            )
        if word == "NEAR" or word.startswith("NEAR/"):
            return _Token("near", word, column, _near_distance(word, column))
        return _Token("word", word, column)


def _plain_token(plain: re.Match[str]) -> _Token | None:
    """The token of a ``_PLAIN_RE`` match, or ``None`` when ``_Lexer._word`` must look closer."""
    punctuation, word = plain.groups()
    if punctuation:
        return _Token(punctuation, punctuation, plain.start(1) + 1)
    if word in _OPERATORS:
        return _Token(word.lower(), word, plain.start(2) + 1)
    if word.startswith("NEAR") or (len(word) <= 3 and word.upper() in _OPERATORS):
        return None
    return _Token("word", word, plain.start(2) + 1)


def _near_distance(word: str, column: int) -> int:
    digits = word.removeprefix("NEAR").removeprefix("/")
    if not digits.isdigit() or not digits.isascii():
        raise QueryError("write NEAR/n(a, b) with a distance n, e.g. NEAR/5(kyiv, strike)", column)
    distance = int(digits)
    if not 1 <= distance <= MAX_NEAR:
        raise QueryError(f"NEAR distance must be between 1 and {MAX_NEAR}", column)
    return distance


# --- parser ------------------------------------------------------------------------------------

_STARTS_UNARY = {"word", "phrase", "prefix", "alias", "not", "minus", "(", "field", "near"}


class _Parser:
    def __init__(
        self, tokens: list[_Token], aliases: Mapping[str, Sequence[str]], length: int
    ) -> None:
        self.tokens = tokens
        self.given_aliases = aliases
        self.aliases: Mapping[str, Sequence[str]] | None = None  # by lower-case name, when needed
        self.expansions: Expansions = {}
        self.length = length
        self.at = 0
        self.depth = 0
        self.field: str | None = None

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise QueryError("the query is empty", 1)
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            raise QueryError(f"unexpected '{token.text}'", token.column)
        return node

    def _peek(self) -> _Token:
        return self.tokens[self.at]

    def _take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _or(self) -> Node:
        children = [self._and()]
        while self._peek().kind == "or":
            operator = self._take()
            children.append(self._operand_after(operator, self._and))
        return _flat(Or, children)

    def _and(self) -> Node:
        children = [self._unary()]
        while True:
            kind = self._peek().kind
            if kind == "and":
                children.append(self._operand_after(self._take(), self._unary))
            elif kind in _STARTS_UNARY:
                children.append(self._unary())
            else:
                return _flat(And, children)

    def _operand_after(self, operator: _Token, parse: Callable[[], Node]) -> Node:
        token = self._peek()
        if token.kind not in _STARTS_UNARY:
            where = "at the end" if token.kind == "end" else f"before '{token.text}'"
            raise QueryError(f"'{operator.text}' needs a term after it, not {where}", token.column)
        return parse()

    def _unary(self) -> Node:
        token = self._peek()
        if token.kind in ("not", "minus"):
            self._take()
            self._nested(token)
            node = Not(self._operand_after(token, self._unary))
            self.depth -= 1
            return node
        return self._primary()

    def _primary(self) -> Node:
        token = self._take()
        match token.kind:
            case "word" | "phrase":
                return _term(token.text, token.column)
            case "prefix":
                return _prefix(token.text, token.column)
            case "alias":
                return self._alias(token)
            case "(":
                return self._group(token)
            case "field":
                return self._field(token)
            case "near":
                return self._near(token)
            case "end":
                raise QueryError("expected a term at the end of the query", token.column)
            case "and" | "or":
                raise QueryError(f"'{token.text}' needs a term before it", token.column)
        raise QueryError(f"unexpected '{token.text}'", token.column)

    def _nested(self, opener: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError("the query is nested too deeply", opener.column)

    def _group(self, opener: _Token) -> Node:
        self._nested(opener)
        node = self._or()
        self._close(opener, "'(' is never closed")
        self.depth -= 1
        return node

    def _close(self, opener: _Token, message: str) -> None:
        token = self._take()
        if token.kind == ")":
            return
        if token.kind == "end":
            raise QueryError(message, opener.column)
        raise QueryError(f"expected ')' but found '{token.text}'", token.column)

    def _field(self, token: _Token) -> Node:
        if self.field is not None:
            raise QueryError("field scopes cannot be nested", token.column)
        if self._peek().kind in ("end", ")", ",", "and", "or"):
            raise QueryError(f"'{token.text}:' needs a term after it", token.column)
        self._nested(token)
        self.field = token.text
        child = self._primary() if self._peek().kind not in ("not", "minus") else self._unary()
        self.field = None
        self.depth -= 1
        return Field(token.text, child)

    def _near(self, token: _Token) -> Node:
        self._nested(token)
        opener = self._take()
        if opener.kind != "(":
            raise QueryError(f"expected '(' after {token.text}", opener.column)
        left = self._near_operand(token)
        comma = self._take()
        if comma.kind != ",":
            raise QueryError(f"{token.text} needs two terms separated by ','", comma.column)
        right = self._near_operand(token)
        self._close(opener, f"the '(' of {token.text} is never closed")
        self.depth -= 1
        return Near(token.number, left, right)

    def _near_operand(self, near: _Token) -> Node:
        start = self._peek()
        if start.kind in (",", ")", "end"):
            raise QueryError(f"{near.text} needs a term here", start.column)
        node = self._or()
        if not _positional(node):
            raise QueryError(
                f"{near.text} takes terms, phrases, prefixes or OR-groups of them; "
                'quote several words to make a phrase ("a b")',
                start.column,
            )
        return node

    def _alias(self, token: _Token) -> Node:
        node = self.expansions.get((token.text, token.column))
        if node is None:
            node = self.expansions[token.text, token.column] = self._expand(token)
        return node

    def _expand(self, token: _Token) -> Node:
        entries = self.given_aliases.get(token.text)  # as written, usually: no table to build
        if entries is None:
            if self.aliases is None:
                self.aliases = {name.lower(): v for name, v in self.given_aliases.items()}
            entries = self.aliases.get(token.text.lower())
        if entries is None:
            raise QueryError(f"unknown alias '@{token.text}'", token.column)
        if isinstance(entries, str) or not entries:
            raise QueryError(f"alias '@{token.text}' has no entries", token.column)
        children: list[Node] = []
        for entry in entries:
            entry = str(entry).strip()
            try:
                if entry.endswith("*"):
                    children.append(_prefix(entry[:-1], token.column))
                else:
                    children.append(_term(entry, token.column))
            except QueryError as error:
                message = str(error).rsplit(" at column ", 1)[0]
                raise QueryError(f"alias '@{token.text}': {message}", token.column) from None
        return _flat(Or, children)


def _term(text: str, column: int) -> Term:
    keys = normalize_term(text)
    if not keys:
        raise QueryError(f"'{text}' has no letters or digits to match", column)
    return Term(" ".join(text.split()), keys, column)


def _prefix(text: str, column: int) -> Prefix:
    forms = normalize_prefix(text)
    if len(forms) != 1:
        what = "has no letters or digits" if not forms else "must be a single word"
        raise QueryError(f"the prefix '{text}*' {what}", column)
    if len(forms[0]) < MIN_PREFIX:
        raise QueryError(f"the prefix '{text}*' is too short: use at least 3 letters", column)
    return Prefix(text + "*", forms[0], column)


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat))


def _positional(node: Node) -> bool:
    match node:
        case Term() | Prefix():
            return True
        case Or(children):
            return all(_positional(child) for child in children)
    return False


def _holds_without_terms(node: Node) -> bool:
    """Would the query be true for an item in which none of its terms occur?"""
    match node:
        case And(children):
            return all(_holds_without_terms(child) for child in children)
        case Or(children):
            return any(_holds_without_terms(child) for child in children)
        case Not(child):
            return not _holds_without_terms(child)
        case Field(_, child):
            return _holds_without_terms(child)
    return False
