"""``wirewatch match`` as a person or a script runs it: on a text, a live feed, JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.feeds import EVACUATION, TALKS, WEATHER, rss
from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[2]
ALLOW_PRIVATE = {"WIREWATCH_FETCH__ALLOW_PRIVATE_NETWORKS": "true"}


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    return env | {"PYTHONPATH": str(ROOT)} | (extra or {})


def wirewatch(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "match", *args],
        cwd=cwd,
        env=environment(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_matching_text_shows_each_topic_and_the_words_it_matched(tmp_path: Path) -> None:
    result = wirewatch(
        "Thousands evacuated from Маріуполя as the convoy reaches safety", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mariupol-evacuation (Mariupol evacuation) — matched: ")
    assert "evacu*" in lines[0] and "Mariupol" in lines[0]
    assert '"evacuated"' in lines[1] and '"Маріуполя"' in lines[1]  # the words, as written
    assert "[evacuated]" in lines[2] and "[Маріуполя]" in lines[2]  # and where they are


def test_a_text_no_topic_matches_exits_1(tmp_path: Path) -> None:
    result = wirewatch("Sunny weekend ahead in Lisbon", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (1, "no topic matches")


def test_topic_restricts_the_text_to_that_topic(tmp_path: Path) -> None:
    text = "МККК: гуманитарный коридор из Мариуполя может открыться в пятницу"
    both = wirewatch(text, cwd=tmp_path)
    one = wirewatch("--topic", "humanitarian-corridors", text, cwd=tmp_path)
    other = wirewatch("--topic", "peace-talks", text, cwd=tmp_path)
    assert "mariupol-evacuation" in both.stdout and "humanitarian-corridors" in both.stdout
    assert one.returncode == 0 and "mariupol-evacuation" not in one.stdout
    assert one.stdout.startswith("humanitarian-corridors (Humanitarian corridors) — matched: ")
    assert other.returncode == 1
    assert other.stdout.strip() == "✗ peace-talks (Peace talks) does not match"


def test_an_unknown_topic_is_one_clear_line_with_a_suggestion(tmp_path: Path) -> None:
    result = wirewatch("--topic", "peace-talk", "Talks resume", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "wirewatch: unknown topic 'peace-talk'; did you mean peace-talks?"
    )


def test_mixing_modes_or_a_feed_without_a_topic_is_a_usage_error(tmp_path: Path) -> None:
    both = wirewatch("--jsonl", "some text", cwd=tmp_path)
    no_topic = wirewatch("--feed", "https://wire.example/rss", cwd=tmp_path)
    nothing = wirewatch(cwd=tmp_path)
    assert both.returncode == no_topic.returncode == nothing.returncode == 2
    assert "one of TEXT, --feed URL or --jsonl" in both.stderr + nothing.stderr
    assert "--topic" in no_topic.stderr
    assert "Traceback" not in both.stderr + no_topic.stderr + nothing.stderr


def test_a_topic_tried_on_a_live_feed_marks_every_item(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/feed.xml", rss(EVACUATION, TALKS, WEATHER))
        result = wirewatch(
            "--topic", "mariupol-evacuation", "--feed", server.url("/feed.xml"),
            cwd=tmp_path, env=ALLOW_PRIVATE,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "mariupol-evacuation (Mariupol evacuation) on Test Wire — 3 items"
    assert f"✓ {EVACUATION.title}" in lines
    assert f"✗ {TALKS.title}" in lines and f"✗ {WEATHER.title}" in lines
    why = lines[lines.index(f"✓ {EVACUATION.title}") + 1]
    assert why.strip().startswith("matched: ") and "Mariupol" in why
    assert '"evacuation" (summary)' in result.stdout  # a summary word, marked as such
    assert lines[-1] == "1 of 3 items match mariupol-evacuation"


def test_a_feed_on_a_private_address_is_refused_unless_allowed(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/feed.xml", rss(EVACUATION))
        result = wirewatch(
            "--topic", "mariupol-evacuation", "--feed", server.url("/feed.xml"), cwd=tmp_path
        )
        assert server.hits("/feed.xml") == 0
    assert result.returncode == 2 and result.stdout == ""
    assert "refused: 127.0.0.1" in result.stderr
    assert "WIREWATCH_FETCH__ALLOW_PRIVATE_NETWORKS=true" in result.stderr


def test_jsonl_answers_each_item_and_reports_bad_lines_by_number(tmp_path: Path) -> None:
    lines = [
        {"id": "a1", "title": "Evacuation buses reach Mariupol after days of delays"},
        {
            "id": 2,
            "title": "Kremlin says talks with Kyiv have stalled",
            "summary": "",
            "language": "en",
        },
        "this is not JSON",
        {"id": 3, "title": "Sunny weekend ahead in Lisbon", "summary": None},
        ["a", "list"],
        {"id": 4},
        {"id": 5, "title": "Росія вдарила ракетами по Києву", "language": "fr"},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    result = wirewatch("--jsonl", cwd=tmp_path, stdin=stdin + "\n\n")
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert [answer["id"] for answer in answers] == ["a1", 2, 3, 5]
    assert answers[0]["topics"] == ["mariupol-evacuation"]
    assert set(answers[0]["why"]["mariupol-evacuation"]) >= {"Mariupol", "evacu*"}
    assert answers[1]["topics"] == ["peace-talks"]
    assert answers[2] == {"id": 3, "topics": [], "why": {}}
    assert answers[3]["topics"] == []  # the topic is for en/uk/ru, the item says French
    errors = result.stderr.splitlines()
    assert [error.split(":")[1].strip() for error in errors] == ["line 3", "line 5", "line 6"]
    assert "not valid JSON" in errors[0] and '"title" must be a string' in errors[2]
    assert "Traceback" not in result.stderr


def test_jsonl_streams_an_answer_per_line_as_it_comes(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "match", "--jsonl", "--topic", "strikes-on-kyiv"],
        cwd=tmp_path,
        env=environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for number, title in enumerate(
            ["Ночью Киев атаковали дроны", "Kyiv strikes deal with IMF"]
        ):
            process.stdin.write(json.dumps({"id": number, "title": title}) + "\n")
            process.stdin.flush()
            answer = json.loads(process.stdout.readline())  # before stdin is closed
            assert answer["id"] == number
            assert answer["topics"] == (["strikes-on-kyiv"] if number == 0 else [])
        process.stdin.close()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
