"""Story clustering quality on our hand-written data set: pairwise precision and recall ≥ 0.90.

``tests/data/stories/items.jsonl`` holds news items we wrote ourselves (no copied text): the same
event told by several outlets in paraphrase, often in English, Ukrainian and Russian; near misses
(the same city or the same kind of event on another day, two prisoner exchanges, fuel depots hit in
two cities on one morning); singletons; a correction (the same id twice, with a changed title) and
the same URL with tracking parameters. Each line names its expected story.

The metric: over all pairs of items, a pair is predicted together when the clusterer gave both the
same story, and expected together when they carry the same label; precision and recall are
computed over those pairs (the usual pairwise clustering scores).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

from bot.model import Item
from bot.stories import StoryClusterer

DATA = Path(__file__).resolve().parent / "data" / "stories" / "items.jsonl"
MINIMUM = 0.90


def load_rows() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    return sorted(rows, key=lambda row: row["published"])


def pairwise_scores(predicted: list[str], expected: list[str]) -> tuple[float, float]:
    together = {"both": 0, "predicted only": 0, "expected only": 0}
    for first, second in itertools.combinations(range(len(predicted)), 2):
        same_predicted = predicted[first] == predicted[second]
        same_expected = expected[first] == expected[second]
        if same_predicted and same_expected:
            together["both"] += 1
        elif same_predicted:
            together["predicted only"] += 1
        elif same_expected:
            together["expected only"] += 1
    both = together["both"]
    return both / (both + together["predicted only"]), both / (both + together["expected only"])


def test_the_data_set_has_what_the_quality_claim_rests_on() -> None:
    rows = load_rows()
    assert len(rows) >= 160
    assert {"id", "title", "summary", "url", "published", "language", "story"} <= set(rows[0])
    assert Counter(row["language"] for row in rows).keys() == {"en", "uk", "ru"}
    stories = Counter(row["story"] for row in rows)
    assert sum(1 for count in stories.values() if count == 1) >= 8, "singletons"
    multilingual = {
        story
        for story in stories
        if len({row["language"] for row in rows if row["story"] == story}) == 3
    }
    assert len(multilingual) >= 25
    ids = Counter(row["id"] for row in rows)
    corrected = [key for key, count in ids.items() if count > 1]
    assert corrected, "a correction: the same id with a changed title"
    for key in corrected:
        versions = [row for row in rows if row["id"] == key]
        assert len({row["title"] for row in versions}) == len(versions)
        assert len({row["story"] for row in versions}) == 1
    assert any("utm_" in row["url"] for row in rows), "the same URL with tracking parameters"


def test_pairwise_precision_and_recall_are_at_least_ninety_percent() -> None:
    rows = load_rows()
    clusterer = StoryClusterer()
    predicted = [
        clusterer.assign(
            Item(
                feed_url="",
                key=row["id"],
                title=row["title"],
                summary=row["summary"],
                url=row["url"],
                published=datetime.fromisoformat(row["published"]),
                language=row["language"],
            )
        )
        for row in rows
    ]
    expected = [row["story"] for row in rows]
    precision, recall = pairwise_scores(predicted, expected)
    print(
        f"\nstories: {len(rows)} items, {len(set(expected))} labelled stories, "
        f"{len(set(predicted))} predicted; pairwise precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= MINIMUM, f"pairwise precision {precision:.3f} < {MINIMUM}"
    assert recall >= MINIMUM, f"pairwise recall {recall:.3f} < {MINIMUM}"
