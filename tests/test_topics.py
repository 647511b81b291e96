"""Topic configuration: the built-ins load, and a bad topic stops start-up with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.match.matcher import Matcher
from bot.match.places import load_places
from bot.match.topics import load_topics, topics_from_dicts
from bot.model import Topic

BUILTIN_FILE = Path(__file__).resolve().parents[1] / "config" / "topics.toml"
PLACES = load_places(BUILTIN_FILE.with_name("places.toml"))


def test_builtin_topics_load_with_names_descriptions_and_languages() -> None:
    topics = load_topics(BUILTIN_FILE, PLACES)
    assert [topic.id for topic in topics] == [
        "mariupol-evacuation",
        "peace-talks",
        "humanitarian-corridors",
        "prisoner-exchange",
        "strikes-on-kyiv",
        "grain-corridor",
    ]
    for topic in topics:
        assert topic.name and topic.description
        assert topic.languages == ("en", "uk", "ru")
        assert topic.chat is None
    assert {t.id: t.name for t in topics}["mariupol-evacuation"] == "Mariupol evacuation"
    assert len(Matcher(topics, aliases=PLACES)) == len(topics)


def test_a_topic_table_becomes_a_topic() -> None:
    (topic,) = topics_from_dicts(
        [
            {
                "id": "kharkiv-strikes",
                "name": " Strikes on Kharkiv ",
                "query": "kharkiv (strike OR shelling)",
                "description": "Shelling of Kharkiv.",
                "languages": ["EN", "uk", "uk"],
                "sources": ["Ukrinform.ua"],
                "min_score": 2,
            }
        ]
    )
    assert topic == Topic(
        id="kharkiv-strikes",
        name="Strikes on Kharkiv",
        query="kharkiv (strike OR shelling)",
        description="Shelling of Kharkiv.",
        languages=("en", "uk"),
        sources=("ukrinform.ua",),
        min_score=2.0,
    )


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "kyiv", "name": "Kyiv", "query": "kyiv"}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


BAD_ROWS = [
    ([row(query="(kyiv OR kiev) strike)")], "topic 'kyiv': unexpected ')' at column 22"),
    ([row(query="kyiv or kiev")], "topic 'kyiv': 'or' is ambiguous"),
    ([row(query="@nowhere")], "topic 'kyiv': unknown alias '@nowhere' at column 1"),
    ([row(query="")], "topic 'kyiv' needs a 'query'"),
    ([row(query=None)], "topic 'kyiv' needs a 'query'"),
    ([row(name=None)], "topic 'kyiv' needs a 'name'"),
    ([row(name=5)], "topic 'kyiv': 'name' must be a string"),
    ([row(id=None)], "topic #1 needs an 'id'"),
    (
        [row(id="Kyiv News")],
        "topic id 'Kyiv News' must be lowercase letters, digits and single '-'",
    ),
    ([row(id="kyiv--news")], "must be lowercase letters"),
    ([row(id="k" * 65)], "at most 64 characters"),
    ([row(), row()], "topic id 'kyiv' is defined twice"),
    ([row(langauges=["en"])], "topic 'kyiv': unknown key 'langauges'"),
    ([row(languages="en")], "topic 'kyiv': 'languages' must be a list of strings"),
    ([row(languages=["english"])], "language 'english' is not an ISO 639 code"),
    ([row(sources=[""])], "'sources' must be a list of non-empty strings"),
    ([row(min_score=-1)], "'min_score' must be a number ≥ 0"),
    ([row(min_score=True)], "'min_score' must be a number ≥ 0"),
    (["kyiv"], "topic #1 must be a table with id, name and query"),
]


@pytest.mark.parametrize(("rows", "message"), BAD_ROWS, ids=[m[:40] for _, m in BAD_ROWS])
def test_a_bad_topic_is_refused_with_a_message_that_names_it(
    rows: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        topics_from_dicts(rows)
    assert message in str(caught.value)


def test_queries_may_use_aliases_the_caller_passes() -> None:
    rows = [row(query="@kyiv strike")]
    with pytest.raises(ConfigError, match="unknown alias"):
        topics_from_dicts(rows)
    assert topics_from_dicts(rows, aliases={"kyiv": ["Kyiv"]})[0].query == "@kyiv strike"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[topics]]\nid = 'a'\nname = 'A'\nquery = 'kyiv)'\n", "topic 'a': unexpected ')'"),
        ("[[topics]\n", "is not valid TOML"),
        ("topics = 'kyiv'\n", "'topics' must be an array of [[topics]] tables"),
    ],
)
def test_a_bad_topics_file_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_topics(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_missing_topics_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read topics file"):
        load_topics(tmp_path / "nope.toml")


def test_a_file_without_topics_has_none(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text("# nothing yet\n")
    assert load_topics(path) == ()
