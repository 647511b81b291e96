"""The story clusterer's rules, as a reader of alerts meets them: one event, one story."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.model import Item
from bot.stories import StoryClusterer
from bot.stories.features import extract_features
from bot.stories.minhash import MinHasher, estimate_jaccard

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "stories" / "items.jsonl"
T0 = datetime(2022, 3, 29, 9, 0, tzinfo=UTC)


def item(
    key: str, title: str, summary: str = "", *, url: str | None = None, hours: float = 0
) -> Item:
    return Item(
        feed_url="https://feed.example/rss",
        key=key,
        title=title,
        summary=summary,
        url=url if url is not None else f"https://news.example/{key}",
        published=T0 + timedelta(hours=hours),
    )


def stories(*items: Item, clusterer: StoryClusterer | None = None) -> list[str]:
    clusterer = clusterer or StoryClusterer()
    return [clusterer.assign(entry) for entry in items]


# --- URL rule -------------------------------------------------------------------------------------

URL = "https://wire.example/2022/03/30/refugees"


@pytest.mark.parametrize(
    ("second_url", "same"),
    [
        pytest.param(URL, True, id="same-url"),
        pytest.param(f"{URL}?utm_source=twitter&utm_medium=social", True, id="tracking-params"),
        pytest.param(f"{URL}?fbclid=IwAR0x#comments", True, id="click-id-and-fragment"),
        pytest.param("HTTPS://WIRE.EXAMPLE:443/2022/03/30/refugees", True, id="case-and-port"),
        pytest.param("https://wire.example/2022/03/30/other", False, id="other-url"),
    ],
)
def test_the_same_canonical_url_is_always_the_same_story(second_url: str, same: bool) -> None:
    first = item("wire-1", "More than four million people have fled Ukraine, UN says", url=URL)
    second = item("digest-9", "Our pick of the day", "Read on.", url=second_url, hours=2)
    assert (len(set(stories(first, second))) == 1) is same


# --- Correction rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_title", "corrected_title"),
    [
        pytest.param(
            "Ukraine and Russia swap prisoners, 68 servicemen freed",
            "CORRECTED: Ukraine and Russia swap prisoners, 86 servicemen freed",
            id="number-fixed",
        ),
        pytest.param(
            "Explosion reported in city centre",
            "Gas leak, not a missile, caused the blast at a bakery, officials say",
            id="rewritten-headline",
        ),
        pytest.param("Breaking", "Ukraine sends 45 buses to Mariupol", id="placeholder-headline"),
    ],
)
def test_a_republished_item_with_a_changed_title_stays_in_its_story(
    first_title: str, corrected_title: str
) -> None:
    clusterer = StoryClusterer()
    first = clusterer.assign(item("wire-138", first_title))
    clusterer.assign(item("other-1", "Chess Olympiad moved from Moscow to Chennai", hours=0.5))
    corrected = clusterer.assign(item("wire-138", corrected_title, url="", hours=1))
    assert corrected == first == "wire-138"


def test_an_explicit_key_overrides_the_item_key() -> None:
    clusterer = StoryClusterer()
    first = clusterer.assign(item("1", "Rockets hit fuel depot in Lviv"), key="feed-a:1")
    other = clusterer.assign(
        item("1", "Central bank raises rates", url="", hours=1), key="feed-b:1"
    )
    assert first == "feed-a:1"
    assert other == "feed-b:1"


# --- Window expiry --------------------------------------------------------------------------------

EXPIRY_TITLE = "Apple unveils new iPhone with faster chip and longer battery life"
EXPIRY_SUMMARY = "The company showed the phone at its spring event in Cupertino."


@pytest.mark.parametrize(
    ("hours_later", "same"),
    [
        pytest.param(1, True, id="an-hour-later"),
        pytest.param(30, True, id="within-the-window"),
        pytest.param(49, False, id="after-the-window"),
    ],
)
def test_a_story_closes_when_the_window_passes(hours_later: float, same: bool) -> None:
    first = item("tech-1", EXPIRY_TITLE, EXPIRY_SUMMARY)
    again = item("tech-2", EXPIRY_TITLE, EXPIRY_SUMMARY, hours=hours_later)
    assert (len(set(stories(first, again))) == 1) is same


def test_memory_is_bounded_by_the_window() -> None:
    clusterer = StoryClusterer(window=timedelta(hours=2))
    for hour in range(48):
        clusterer.assign(
            item(f"k{hour}", f"Headline number {hour}", url=f"https://x.example/{hour}", hours=hour)
        )
    assert clusterer.open_stories <= 3
    assert len(clusterer._members) <= 3
    assert len(clusterer._by_key) <= 3 and len(clusterer._by_url) <= 3
    assert sum(1 for _ in clusterer._by_band) <= 3 * 16


def test_an_item_without_a_time_is_taken_to_be_published_now() -> None:
    clusterer = StoryClusterer()
    first = clusterer.assign(item("tech-1", EXPIRY_TITLE, EXPIRY_SUMMARY))
    undated = Item(feed_url="", key="tech-2", title=EXPIRY_TITLE, summary=EXPIRY_SUMMARY)
    assert clusterer.assign(undated) == first


# --- Cross-language join --------------------------------------------------------------------------

CROSS_LANGUAGE = [
    pytest.param(
        [
            ("Ukraine sends 45 buses to Mariupol as Russia promises local ceasefire",
             "Deputy Prime Minister Iryna Vereshchuk said the International Committee of the Red "
             "Cross is acting as an intermediary for the evacuation."),
            ("До Маріуполя вирушили 45 автобусів для евакуації людей",
             "Посередником виступає Міжнародний комітет Червоного Хреста, каже Ірина Верещук."),
            ("Украина направила в Мариуполь 45 автобусов",
             "Посредником выступает Международный комитет Красного Креста, заявила Ирина Верещук."),
        ],
        id="convoy",
    ),
    pytest.param(
        [
            ("Ukraine and Russia carry out prisoner exchange, 86 servicemen freed",
             "Iryna Vereshchuk said 15 women were among those returned in the swap."),
            ("Відбувся обмін полоненими: додому повертаються 86 українських військових",
             "Серед звільнених 15 жінок, повідомила Ірина Верещук."),
            ("Россия и Украина провели обмен пленными",
             "Украинская сторона сообщила о возвращении 86 военнослужащих, среди них 15 женщин."),
        ],
        id="prisoner-exchange",
    ),
    pytest.param(
        [
            ("Russian missile destroys fuel depot in Dnipro",
             "Regional officials said the strike caused a large fire; no deaths were reported."),
            ("Ракета знищила нафтобазу в Дніпрі",
             "Голова ОДА повідомив про масштабну пожежу, загиблих немає."),
            ("Ракетный удар уничтожил нефтебазу в Днепре",
             "Пожар удалось локализовать, погибших нет."),
        ],
        id="fuel-depot",
    ),
]  # fmt: skip


@pytest.mark.parametrize("reports", CROSS_LANGUAGE)
def test_reports_of_one_event_in_english_ukrainian_and_russian_join(
    reports: list[tuple[str, str]],
) -> None:
    items = [
        item(f"r{n}", title, summary, hours=n / 2) for n, (title, summary) in enumerate(reports)
    ]
    assert stories(*items) == ["r0"] * len(items)


def test_a_near_duplicate_outside_the_vocabulary_joins_through_minhash() -> None:
    summary = "The company showed the handset at its spring event in Cupertino on Tuesday."
    first = item("tech-1", "Apple unveils new iPhone with faster chip and longer battery", summary)
    copy = item("tech-2", "Apple unveils new iPhone with a faster chip, longer battery", summary)
    other = item("tech-3", "Samsung cuts prices of foldable phones in Europe", "Sales are slow.")
    assert stories(first, copy, other) == ["tech-1", "tech-1", "tech-3"]


# --- Same place, different event ------------------------------------------------------------------

APART = [
    pytest.param(
        ("Mariupol evacuation postponed as route comes under fire",
         "A planned humanitarian corridor from Mariupol to Zaporizhzhia was called off on "
         "Tuesday; buses could not pass safely.", 0),
        ("Convoy of 45 buses leaves for Mariupol",
         "The buses left Zaporizhzhia on Thursday morning to pick up civilians; the Red Cross "
         "is mediating.", 46),
        id="postponed-tuesday-vs-buses-leave-thursday",
    ),
    pytest.param(
        ("Red Cross team turns back, unable to reach Mariupol",
         "The ICRC said it would try again with its convoy on Saturday.", 0),
        ("Convoy carrying Mariupol residents arrives in Zaporizhzhia",
         "More than 30 buses brought some 1,200 people out via Berdyansk.", 20),
        id="turned-back-vs-arrived",
    ),
    pytest.param(
        ("Five killed as shelling hits residential blocks in Kharkiv",
         "Artillery struck the Saltivka district overnight; 12 more people were wounded.", 0),
        ("Rockets hit Kharkiv market, three wounded",
         "Rocket launchers struck the Barabashovo market on Tuesday afternoon.", 28),
        id="kharkiv-monday-vs-tuesday",
    ),
    pytest.param(
        ("Ukraine and Russia carry out prisoner exchange, 86 servicemen freed",
         "Iryna Vereshchuk said 15 women were among those returned.", 0),
        ("Second prisoner exchange frees 26 Ukrainians, including civilians",
         "Iryna Vereshchuk said 12 soldiers and 14 civilians were returned in the swap.", 6 * 24),
        id="two-exchanges-a-week-apart",
    ),
    pytest.param(
        ("Russian missile destroys fuel depot in Dnipro",
         "Regional officials said the strike caused a large fire.", 0),
        ("Oil depot ablaze in Belgorod after alleged helicopter strike",
         "The regional governor said the fuel depot was hit from the air.", 1),
        id="fuel-depots-in-two-cities-same-morning",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("first", "second"), APART)
def test_different_events_in_the_same_place_or_of_the_same_kind_stay_apart(
    first: tuple[str, str, float], second: tuple[str, str, float]
) -> None:
    items = [
        item(f"r{n}", title, summary, hours=hours)
        for n, (title, summary, hours) in enumerate((first, second))
    ]
    assert stories(*items) == ["r0", "r1"]


# --- Determinism ----------------------------------------------------------------------------------


def _dataset_items() -> list[Item]:
    rows = sorted(
        (json.loads(line) for line in DATA.read_text().splitlines()), key=lambda r: r["published"]
    )
    return [
        Item(
            feed_url="",
            key=row["id"],
            title=row["title"],
            summary=row["summary"],
            url=row["url"],
            published=datetime.fromisoformat(row["published"]),
        )
        for row in rows
    ]


def test_the_same_items_in_the_same_order_give_the_same_stories() -> None:
    items = _dataset_items()
    assert stories(*items) == stories(*items)


@pytest.mark.parametrize("hash_seed", ["1", "4242"])
def test_stories_do_not_depend_on_the_process_hash_seed(hash_seed: str) -> None:
    script = (
        "import json, sys; from tests.test_cluster import _dataset_items, stories; "
        "print(json.dumps(stories(*_dataset_items())))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(result.stdout) == stories(*_dataset_items())


# --- Building blocks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Ukraine sends 45 buses to Mariupol", {"num:45", "ev:bus", "place:mariupol"}, id="en"
        ),
        pytest.param(
            "До Маріуполя вирушили 45 автобусів", {"num:45", "ev:bus", "place:mariupol"}, id="uk"
        ),
        pytest.param(
            "В Мариуполь отправили 45 автобусов", {"num:45", "ev:bus", "place:mariupol"}, id="ru"
        ),
        pytest.param("МКЧХ, МККК and the Red Cross", {"org:icrc"}, id="icrc"),
        pytest.param("ООН та ОБСЄ", {"org:un", "org:osce"}, id="un-osce"),
        pytest.param("п'ятеро загиблих", {"num:5", "ev:killed"}, id="number-word"),
        pytest.param("Четверо поранених", {"num:4", "ev:wounded"}, id="four-is-not-thursday"),
    ],
)
def test_language_neutral_tokens(text: str, expected: set[str]) -> None:
    neutral = extract_features(Item(feed_url="", key="k", title=text)).neutral
    assert expected <= neutral
    assert "day:thu" not in neutral


@pytest.mark.parametrize(
    ("text", "states"),
    [
        pytest.param("Evacuation postponed", {"st:halted"}, id="postponed"),
        pytest.param(
            "Red Cross team unable to reach the city", {"st:halted"}, id="negated-arrival"
        ),
        pytest.param("Команда не змогла дістатися Маріуполя", {"st:halted"}, id="uk-negated"),
        pytest.param("Колонна прибыла в Запорожье", {"st:arrived"}, id="ru-arrived"),
        pytest.param("Buses left Zaporizhzhia", {"st:departed"}, id="left"),
    ],
)
def test_event_states(text: str, states: set[str]) -> None:
    assert extract_features(Item(feed_url="", key="k", title=text)).states == states


def test_minhash_estimates_jaccard_and_is_seeded() -> None:
    first = [f"w{n}" for n in range(100)]
    second = [f"w{n}" for n in range(50, 150)]  # Jaccard 50 / 150
    hasher = MinHasher(256, bands=8, rows=4)
    estimate = estimate_jaccard(hasher.signature(first), hasher.signature(second))
    assert abs(estimate - 1 / 3) < 0.1
    assert MinHasher(seed=3).signature(first) == MinHasher(seed=3).signature(first)
    assert MinHasher(seed=3).signature(first) != MinHasher(seed=4).signature(first)
