"""Story clustering throughput: the engine against a naive all-pairs baseline, in the same run.

Usage: ``python bench/stories.py [--items N] [--baseline N] [--seed S] [--quick]``

Synthetic news: events (an evacuation convoy, a halted evacuation, shelling, a prisoner exchange,
a strike on a fuel depot, talks) in one of 16 cities or 20,000 towns, each reported 1-8 times in
English, Ukrainian or Russian within a few hours, from templates with the event's number, an
official's name and random filler words; the stream spans 48 hours. It is harsher than real news:
two events of one kind in one city differ only by their number and official. Printed:

- ``engine``: ``StoryClusterer`` (MinHash LSH + token index) over every item, items/s by the wall
  clock and by CPU time (the latter is steadier on a shared machine), peak RSS;
- ``baseline``: the first ``--baseline`` items, each scored with the same ``similarity`` against
  every earlier item in the window and joining the best story above the same threshold (keys and
  URLs are unique here, so the identity and URL rules never apply); then the engine on the same
  items, and the ratio of their speeds;
- ``quality``: what the engine's candidate search loses (pairwise precision/recall of its stories
  against the baseline's), and both against the generator's event labels.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.model import Item
from bot.stories import StoryClusterer
from bot.stories.features import extract_features
from bot.stories.similarity import THRESHOLD, Profile, similarity

START = datetime(2022, 4, 1, tzinfo=UTC)
SPAN = timedelta(hours=48)

# (city in en, uk, ru): all spelled as the gazetteer or the normalizer brings together.
CITIES = [
    ("Kharkiv", "Харкові", "Харькове"), ("Mariupol", "Маріуполі", "Мариуполе"),
    ("Odesa", "Одесі", "Одессе"), ("Lviv", "Львові", "Львове"), ("Dnipro", "Дніпрі", "Днепре"),
    ("Chernihiv", "Чернігові", "Чернигове"), ("Mykolaiv", "Миколаєві", "Николаеве"),
    ("Kherson", "Херсоні", "Херсоне"), ("Zaporizhzhia", "Запоріжжі", "Запорожье"),
    ("Kyiv", "Києві", "Киеве"), ("Sumy", "Сумах", "Сумах"), ("Poltava", "Полтаві", "Полтаве"),
    ("Izyum", "Ізюмі", "Изюме"), ("Kramatorsk", "Краматорську", "Краматорске"),
    ("Berdyansk", "Бердянську", "Бердянске"), ("Irpin", "Ірпені", "Ирпене"),
]  # fmt: skip
NAMES = [
    ("Vereshchuk", "Верещук", "Верещук"), ("Synehubov", "Синєгубов", "Синегубов"),
    ("Kim", "Кім", "Ким"), ("Maliar", "Маляр", "Маляр"), ("Arakhamia", "Арахамія", "Арахамия"),
    ("Kozytskyi", "Козицький", "Козицкий"), ("Chaus", "Чаус", "Чаус"),
    ("Haidai", "Гайдай", "Гайдай"), ("Reznichenko", "Резніченко", "Резниченко"),
    ("Fedorov", "Федоров", "Федоров"),
]  # fmt: skip
# Event kinds: (title, lead) templates in en, uk, ru; {c} city, {n} number, {p} person.
EVENTS = {
    "evacuation": (
        ("{n} buses head to {c} for evacuation",
         "Official {p} said a convoy left to collect civilians."),
        ("До {c} вирушили {n} автобусів для евакуації", "Колона вирушила, повідомив {p}."),
        ("В {c} отправили {n} автобусов для эвакуации", "Колонна выехала, сообщил {p}."),
    ),
    "evacuation-halted": (
        ("Evacuation from {c} postponed, {n} buses wait",
         "Official {p} said the route is under fire."),
        ("Евакуацію з {c} відклали, {n} автобусів чекають", "Маршрут обстрілюють, каже {p}."),
        ("Эвакуация из {c} отложена, {n} автобусов ждут", "Маршрут под обстрелом, заявил {p}."),
    ),
    "shelling": (
        ("Shelling of {c} kills {n}", "Governor {p} said artillery hit residential blocks."),
        ("Обстріл {c}: {n} загиблих", "Снаряди влучили в житлові будинки, повідомив {p}."),
        ("Обстрел {c}: погибли {n} человек", "Снаряды попали в жилые дома, сообщил {p}."),
    ),
    "exchange": (
        ("Prisoner exchange near {c} frees {n}",
         "Deputy Prime Minister {p} said soldiers came home."),
        ("Обмін полоненими біля {c}: повернули {n}", "Військові повернулися додому, каже {p}."),
        ("Обмен пленными под {c}: вернули {n}", "Военные вернулись домой, сообщил {p}."),
    ),
    "depot": (
        ("Missile strike destroys fuel depot in {c}",
         "Governor {p} said {n} people were hurt in the fire."),
        ("Ракетний удар знищив нафтобазу в {c}", "Постраждали {n} людей, повідомив {p}."),
        ("Ракетный удар уничтожил нефтебазу в {c}", "Пострадали {n} человек, сообщил {p}."),
    ),
    "talks": (
        ("Talks on {c} corridor resume, delegation says",
         "Negotiator {p} said {n} points were agreed."),
        ("Переговори щодо коридору з {c} відновилися", "Делегація погодила {n} пунктів, каже {p}."),
        ("Переговоры о коридоре из {c} возобновились",
         "Делегация согласовала {n} пунктов, сообщил {p}."),
    ),
}  # fmt: skip
LANGUAGES = ("en", "uk", "ru")
BIG_CITY_SHARE = 0.1  # the rest happen in one of 20,000 towns


@dataclass(frozen=True, slots=True)
class Labelled:
    item: Item
    story: str


def synthetic_items(count: int, seed: int) -> Iterator[Labelled]:
    """``count`` items over ``SPAN``, in time order, each with its event's label."""
    rng = random.Random(seed)
    english = [_word(rng, "bcdfghklmnprstvz", "aeiou") for _ in range(4000)]
    cyrillic = [_word(rng, "бвгдзклмнпрстхч", "аеиоуя") for _ in range(4000)]
    towns = [_town(rng) for _ in range(20_000)]
    people = NAMES + [(_town_in(name, 0), name, name) for name in _people(rng)]
    # Event start times, sorted; each event's reports follow within hours.
    reports: list[tuple[float, int, int]] = []  # (seconds, event, report number)
    event = 0
    while len(reports) < count:
        start = rng.uniform(0, SPAN.total_seconds() - 6 * 3600)
        for report in range(min(8, int(rng.expovariate(0.45)) + 1)):
            reports.append((start + rng.expovariate(1 / 5400), event, report))
        event += 1
    reports = sorted(reports[:count])
    events: dict[int, tuple[str, int, int, int]] = {}
    for seconds, event, report in reports:
        kind, city, number, person = events.setdefault(
            event,
            (
                rng.choice(sorted(EVENTS)),
                rng.randrange(len(CITIES))
                if rng.random() < BIG_CITY_SHARE
                else len(CITIES) + rng.randrange(len(towns)),
                rng.randrange(2, 400),
                rng.randrange(len(people)),
            ),
        )
        language = rng.randrange(3)
        title, lead = EVENTS[kind][language]
        words = cyrillic if language else english
        place = CITIES[city][language] if city < len(CITIES) else towns[city - len(CITIES)]
        if city >= len(CITIES):
            place = _town_in(place, language)
        values = {"c": place, "n": number, "p": people[person][language]}
        yield Labelled(
            Item(
                feed_url="",
                key=f"e{event}-r{report}",
                title=f"{title.format(**values)} {_filler(rng, words, rng.randrange(2, 5))}",
                summary=f"{lead.format(**values)} {_filler(rng, words, rng.randrange(10, 25))}.",
                url=f"https://outlet{rng.randrange(40)}.example/e{event}/r{report}",
                published=START + timedelta(seconds=seconds),
                language=LANGUAGES[language],
            ),
            f"e{event}",
        )


def _filler(rng: random.Random, words: Sequence[str], count: int) -> str:
    return " ".join(rng.choice(words) for _ in range(count))


_LATIN = str.maketrans("бвгдзклмнпрстаоуеі", "bvhdzklmnprstaouei")


def _people(rng: random.Random) -> list[str]:
    """Officials' surnames in Cyrillic, spelled for English with ``_LATIN``."""
    return [_word(rng, "бвгдзклмнпрст", "аоуеі").capitalize() + "енко" for _ in range(200)]


def _town(rng: random.Random) -> str:
    """A town name in Cyrillic; ``_town_in`` spells it for a language (the same match key)."""
    return _word(rng, "бвгдзклмнпрст", "аоуеі").capitalize()


def _town_in(town: str, language: int) -> str:
    return town.lower().translate(_LATIN).capitalize() if language == 0 else town


def _word(rng: random.Random, consonants: str, vowels: str) -> str:
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randrange(2, 5)))


class AllPairsClusterer:
    """The baseline: the engine's similarity, but against every earlier item in the window."""

    def __init__(self, window: timedelta = timedelta(hours=48)) -> None:
        self._engine = StoryClusterer(window=window)  # for its hasher and vocabulary
        self._window = window.total_seconds()
        self._seen: list[tuple[Profile, str]] = []

    def assign(self, item: Item) -> str:
        features = extract_features(item, self._engine.vocabulary)
        signature = self._engine.hasher.signature(sorted(features.lexical))
        time_ = item.published.timestamp() if item.published else 0.0
        profile = Profile.of(features, signature, time_)
        best, best_score = item.key, THRESHOLD
        found = False
        for other, story in self._seen:
            if time_ - other.time > self._window:
                continue
            score = similarity(profile, other)
            if score > best_score or (score == best_score and not found):
                best, best_score, found = story, score, True
        self._seen.append((profile, best))
        return best


def pairwise(predicted: Sequence[str], expected: Sequence[str]) -> tuple[float, float]:
    """Pairwise precision and recall of ``predicted`` clusters against ``expected`` ones."""
    true_positive = false_positive = false_negative = 0
    for first, second in itertools.combinations(range(len(predicted)), 2):
        same_predicted = predicted[first] == predicted[second]
        same_expected = expected[first] == expected[second]
        true_positive += same_predicted and same_expected
        false_positive += same_predicted and not same_expected
        false_negative += same_expected and not same_predicted
    precision = true_positive / (true_positive + false_positive) if true_positive else 1.0
    recall = true_positive / (true_positive + false_negative) if true_positive else 1.0
    return precision, recall


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2,000 items, 200 for the baseline"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.baseline = 2_000, 200
    print(f"stories bench: {args.items:,} synthetic items over 48 h, seed {args.seed}")

    rss_before = _peak_rss_mb()
    engine = StoryClusterer()
    labels = []
    stories = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for labelled in synthetic_items(args.items, args.seed):
        stories.append(engine.assign(labelled.item))
        labels.append(labelled.story)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"engine:   {args.items:,} items in {elapsed:.1f} s = {args.items / elapsed:,.0f} items/s "
        f"({args.items / cpu:,.0f} items/s of CPU time, item generation included); "
        f"peak RSS {_peak_rss_mb():.0f} MB (before: {rss_before:.0f} MB); "
        f"{len(set(stories)):,} stories for {len(set(labels)):,} events; "
        f"{engine.open_stories:,} open at the end"
    )

    first = list(itertools.islice(synthetic_items(args.items, args.seed), args.baseline))
    baseline_stories, baseline_seconds = _timed(AllPairsClusterer().assign, first)
    engine_stories, engine_seconds = _timed(StoryClusterer().assign, first)
    speedup = baseline_seconds / engine_seconds
    n = len(first)
    print(
        f"baseline: all-pairs, first {n:,} items in {baseline_seconds:.1f} s = "
        f"{n / baseline_seconds:,.0f} items/s; engine on the same items {engine_seconds:.2f} s = "
        f"{n / engine_seconds:,.0f} items/s; ratio engine/baseline {speedup:.1f}x"
    )
    expected = [labelled.story for labelled in first]
    agreement = pairwise(engine_stories, baseline_stories)
    print(
        "quality:  engine vs all-pairs P {:.3f} R {:.3f}; engine vs labels P {:.3f} R {:.3f}; "
        "all-pairs vs labels P {:.3f} R {:.3f}".format(
            *agreement, *pairwise(engine_stories, expected), *pairwise(baseline_stories, expected)
        )
    )
    return 0


def _timed(assign: object, labelled: Sequence[Labelled]) -> tuple[list[str], float]:
    assert callable(assign)
    started = time.perf_counter()
    stories = [assign(entry.item) for entry in labelled]
    return stories, time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
