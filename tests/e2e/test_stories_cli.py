"""``wirewatch stories --jsonl`` as a pipeline stage, in a subprocess, from a foreign directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONVOY_EN = {
    "id": "wire-098",
    "title": "Ukraine sends 45 buses to Mariupol as Russia promises local ceasefire",
    "summary": "Iryna Vereshchuk said the Red Cross is acting as an intermediary.",
    "url": "https://wire.example/2022/03/31/buses",
    "published": "2022-03-31T07:00:00Z",
    "language": "en",
}
CONVOY_UK = {
    "id": "novyny-102",
    "title": "До Маріуполя вирушили 45 автобусів для евакуації людей",
    "summary": "Посередником виступає Червоний Хрест, повідомила Ірина Верещук.",
    "url": "https://novyny.example/2022/03/31/avtobusy",
    "published": "2022-03-31T07:30:00Z",
}
SAME_URL = {
    "id": "digest-1",
    "title": "Our pick of the day",
    "summary": "",
    "url": "https://wire.example/2022/03/31/buses?utm_source=twitter",
    "published": "2022-03-31T08:00:00Z",
}
OTHER = {
    "id": "globe-148",
    "title": "Chess Olympiad moved from Moscow to Chennai",
    "summary": "FIDE said the event would go ahead in India.",
    "url": "https://globe.example/chess",
    "published": "2022-03-31T09:00:00Z",
}


def wirewatch_stories(stdin: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", "stories", "--jsonl"],
        input=stdin,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines(*records: dict[str, str]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def test_each_item_gets_its_story_id_in_input_order(tmp_path: Path) -> None:
    result = wirewatch_stories(lines(CONVOY_EN, CONVOY_UK, SAME_URL, OTHER), tmp_path)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"id": "wire-098", "story": "wire-098"},
        {"id": "novyny-102", "story": "wire-098"},
        {"id": "digest-1", "story": "wire-098"},
        {"id": "globe-148", "story": "globe-148"},
    ]
    assert result.stderr == ""


def test_malformed_lines_are_reported_with_their_number_skipped_and_fail_the_run(
    tmp_path: Path,
) -> None:
    stdin = (
        lines(CONVOY_EN)
        + "{not json\n"
        + "\n"
        + lines({"title": "no id"})
        + '["a list"]\n'
        + lines({**OTHER, "published": "yesterday"})
        + lines(CONVOY_UK)
    )
    result = wirewatch_stories(stdin, tmp_path)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out == [
        {"id": "wire-098", "story": "wire-098"},
        {"id": "novyny-102", "story": "wire-098"},
    ]
    errors = result.stderr.splitlines()
    assert errors[0].startswith("wirewatch stories: line 2: not valid JSON")
    assert errors[1] == 'wirewatch stories: line 4: "id" must be a non-empty string; skipped'
    assert errors[2].startswith("wirewatch stories: line 5: expected a JSON object")
    assert errors[3].startswith('wirewatch stories: line 6: "published" is not an ISO 8601 time')
    assert errors[-1] == "wirewatch stories: 4 line(s) skipped"


def test_output_streams_before_the_input_ends(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "stories", "--jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(lines(CONVOY_EN))
        process.stdin.flush()
        first = process.stdout.readline()  # would block forever if output waited for EOF
        assert json.loads(first) == {"id": "wire-098", "story": "wire-098"}
        process.stdin.close()
        assert process.wait(timeout=30) == 0


def test_help_names_the_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "stories" in result.stdout
