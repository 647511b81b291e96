"""The topic query language: what each piece of syntax means, and errors a person can act on."""

from __future__ import annotations

import random

import pytest

from bot.errors import QueryError
from bot.match.query import And, Field, Near, Node, Not, Or, Prefix, Term, leaves, parse_query


def term(text: str, column: int) -> Term:
    from bot.match.normalize import normalize_term

    return Term(text, normalize_term(text), column)


ALIASES = {"ukraine": ["Ukraine", "Kyiv", "українськ*", "Red Cross"], "Empty": []}

SYNTAX = [
    ("kyiv", term("kyiv", 1)),
    ('"peace talks"', term("peace talks", 1)),
    ("“peace talks”", term("peace talks", 1)),
    ("«мирні переговори»", term("мирні переговори", 1)),
    ("Russia-Ukraine", term("Russia-Ukraine", 1)),
    ("kyiv strike", And((term("kyiv", 1), term("strike", 6)))),
    ("kyiv AND strike", And((term("kyiv", 1), term("strike", 10)))),
    ("kyiv OR kiev", Or((term("kyiv", 1), term("kiev", 9)))),
    ("a OR b c", Or((term("a", 1), And((term("b", 6), term("c", 8)))))),
    ("(a OR b) c", And((Or((term("a", 2), term("b", 7))), term("c", 10)))),
    ("a NOT b", And((term("a", 1), Not(term("b", 7))))),
    ("a -b", And((term("a", 1), Not(term("b", 4))))),
    ("a –b", And((term("a", 1), Not(term("b", 4))))),
    ("a -(b OR c)", And((term("a", 1), Not(Or((term("b", 5), term("c", 10))))))),
    ("a AND NOT b", And((term("a", 1), Not(term("b", 11))))),
    ("evacu*", Prefix("evacu*", "evacu", 1)),
    ("евакуац*", Prefix("евакуац*", "evakuats", 1)),
    ("NEAR/3(kyiv, strike)", Near(3, term("kyiv", 8), term("strike", 14))),
    (
        "NEAR/5(kyiv, strike OR missile*)",
        Near(5, term("kyiv", 8), Or((term("strike", 14), Prefix("missile*", "misile", 24)))),
    ),
    ('NEAR/2("red cross", kyiv)', Near(2, term("red cross", 8), term("kyiv", 21))),
    ("title:kyiv", Field("title", term("kyiv", 7))),
    ("TITLE:kyiv", Field("title", term("kyiv", 7))),
    ('title:"peace talks"', Field("title", term("peace talks", 7))),
    ("title:(a OR b)", Field("title", Or((term("a", 8), term("b", 13))))),
    ("summary:evacu*", Field("summary", Prefix("evacu*", "evacu", 9))),
    ("a title:-b", And((term("a", 1), Field("title", Not(term("b", 10)))))),
    (
        "@ukraine talks",
        And(
            (
                Or(
                    (
                        term("Ukraine", 1),
                        term("Kyiv", 1),
                        Prefix("українськ*", "ukrainsk", 1),
                        term("Red Cross", 1),
                    )
                ),
                term("talks", 10),
            )
        ),
    ),
    ('"and" OR "not"', Or((term("and", 1), term("not", 10)))),
    ("near kyiv", And((term("near", 1), term("kyiv", 6)))),
]


@pytest.mark.parametrize(("query", "tree"), SYNTAX, ids=[query for query, _ in SYNTAX])
def test_each_piece_of_syntax_parses_to_its_tree(query: str, tree: Node) -> None:
    assert parse_query(query, ALIASES) == tree


ERRORS = [
    ("", "the query is empty", 1),
    ("   ", "the query is empty", 1),
    ("(kyiv OR kiev) strike)", "unexpected ')'", 22),
    ("kyiv AND (strike", "'(' is never closed", 10),
    ("kyiv AND", "'AND' needs a term after it, not at the end", 9),
    ("kyiv OR OR kiev", "'OR' needs a term after it, not before 'OR'", 9),
    ("OR kyiv", "'OR' needs a term before it", 1),
    ("kyiv or kiev", "'or' is ambiguous: write OR for the operator", 6),
    ("Kyiv And Kiev", "'And' is ambiguous", 6),
    ("not sport kyiv", "'not' is ambiguous", 1),
    ('kyiv "peace talks', "this quote is never closed", 6),
    ('""', "'' has no letters or digits", 1),
    ("kyiv ...", "'...' has no letters or digits", 6),
    ("ev*", "the prefix 'ev*' is too short", 1),
    ("ev*cu", "'*' must end a word", 3),
    ("kyiv *", "unexpected '*'", 6),
    ('"peace talks"*', "'*' must end a word, not a phrase", 14),
    ("ukraine-rus*", "the prefix 'ukraine-rus*' must be a single word", 1),
    ("NOT sport", "the query needs at least one term that is not negated", 1),
    ("kyiv OR -sport", "the query needs at least one term that is not negated", 1),
    ("kyiv - sport", "'-' must be followed by a term to exclude", 6),
    ("NEAR(kyiv, strike)", "write NEAR/n(a, b) with a distance n", 1),
    ("NEAR/0(kyiv, strike)", "NEAR distance must be between 1 and 50", 1),
    ("NEAR/3 kyiv", "expected '(' after NEAR/3", 8),
    ("NEAR/3(kyiv strike)", "takes terms, phrases, prefixes or OR-groups", 8),
    ("NEAR/3(kyiv)", "NEAR/3 needs two terms separated by ','", 12),
    ("NEAR/3(kyiv, )", "NEAR/3 needs a term here", 14),
    ("NEAR/3(kyiv, strike", "the '(' of NEAR/3 is never closed", 7),
    ("NEAR/3(kyiv, NOT strike)", "takes terms, phrases", 14),
    ("kyiv, strike", "unexpected ','", 5),
    ("city:kyiv", "unknown field 'city:'", 1),
    ("title:", "'title:' needs a term after it", 1),
    ("title:(kyiv OR summary:strike)", "field scopes cannot be nested", 16),
    ("kyiv : strike", "unexpected ':'", 6),
    ("@nowhere", "unknown alias '@nowhere'", 1),
    ("kyiv @", "'@' must be followed by an alias name", 6),
    ("@empty", "alias '@empty' has no entries", 1),
    ("(" * 40 + "kyiv" + ")" * 40, "the query is nested too deeply", 33),
    ("NOT " * 40 + "kyiv", "the query is nested too deeply", 129),
    ("kyiv " * 500, "query is too long", None),
]


@pytest.mark.parametrize(("query", "message", "column"), ERRORS, ids=[q[:30] for q, _, _ in ERRORS])
def test_a_bad_query_says_what_is_wrong_and_where(
    query: str, message: str, column: int | None
) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query, ALIASES)
    assert message in str(caught.value)
    assert caught.value.position == column
    if column is not None:
        assert str(caught.value).endswith(f"at column {column}")


def test_a_bad_alias_entry_names_the_alias() -> None:
    with pytest.raises(QueryError, match=r"alias '@bad': the prefix 'k\*' is too short"):
        parse_query("@bad", {"bad": ["Kyiv", "k*"]})


def test_queries_parsed_together_share_their_alias_subtrees() -> None:
    expansions: dict[tuple[str, int], Node] = {}
    first = parse_query("@ukraine strike", ALIASES, expansions=expansions)
    second = parse_query("@Ukraine talks", ALIASES, expansions=expansions)
    assert first == parse_query("@ukraine strike", ALIASES)
    assert second == parse_query("@Ukraine talks", ALIASES)
    again = parse_query("@ukraine talks", ALIASES, expansions=expansions)
    assert isinstance(first, And) and isinstance(again, And)
    assert again.children[0] is first.children[0]  # same alias, same column: one subtree
    with pytest.raises(QueryError, match="unknown alias '@nowhere'"):
        parse_query("@nowhere", ALIASES, expansions=expansions)


def test_leaves_lists_every_term_once_per_occurrence() -> None:
    query = parse_query('title:kyiv NEAR/3(strike, evacu*) -"dynamo kyiv"')
    assert [leaf.text for leaf in leaves(query)] == ["kyiv", "strike", "evacu*", "dynamo kyiv"]


def test_random_queries_raise_only_query_errors() -> None:
    pieces = [
        "kyiv", "Київ", "a", "AND", "OR", "NOT", "and", "NEAR/2", "NEAR/x", "NEAR", "(", ")", ",",
        '"', "“", "»", "-", "–", "*", "evacu*", ":", "title:", "summary:", "city:", "@ukraine",
        "@", "@nope", " ", "  ", "\t", "\n", "'", "…", "5",
    ]  # fmt: skip
    rng = random.Random(20220331)
    parsed = 0
    for _ in range(5000):
        query = "".join(
            rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 12))
        )
        try:
            parse_query(query, ALIASES)
            parsed += 1
        except QueryError as error:
            assert error.position is None or 1 <= error.position <= len(query) + 1
    assert parsed > 100  # the fuzzing reaches valid queries too, not only the first error
