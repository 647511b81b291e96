"""Benchmark (not a test): topic matching at 10, 1,000 and 10,000 topics, against a naive baseline.

    .venv/bin/python bench/match.py               # 20,000 items: the figures for the README
    .venv/bin/python bench/match.py --quick       # a smoke run of a few seconds
    .venv/bin/python bench/match.py --markdown    # also print bench/README.md table rows

What is measured, all in this one process, pinned to one CPU, in CPU seconds of this process (so
other work on the machine slows the run less than it would wall-clock figures), each figure the
best of ``--repeat`` passes (3; 1 with ``--quick``):

- the corpus (``bench/corpus.py``): synthetic en/uk/ru news items and generated topics, plus the
  built-in topics, from one seed; it is then frozen out of the garbage collector's way;
- for each topic count, the matcher (``bot.match.matcher.Matcher``): compile time from cold
  normalization caches, automaton included; then items/s over every item, each item normalized
  and matched as the bot does it (after a warm-up of 1,000 items, as in a running bot). The topic
  counts take turns pass by pass, so a busy moment on the machine does not skew their ratio;
- the same for the naive baseline (``bench/baseline.py``: one regex per topic, every topic on
  every item). Where it would take too long, it runs on the first items only and its items/s is
  extrapolated from them, which the output says. On the items both ran, the topic sets they found
  are compared;
- peak memory: the process's peak RSS, and what the compiled matcher holds (tracemalloc).

``--quick`` (200 items, 10 and 1,000 topics, a short baseline) prints the same lines in a few
seconds; its figures are only a smoke test.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from time import process_time
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, however the venv installed it

from baseline import RegexBaseline  # noqa: E402
from corpus import LANGUAGE_WEIGHTS, LANGUAGES, Vocabulary, make_items, make_topics, vocabulary  # noqa: E402

from bot.match.matcher import Matcher  # noqa: E402
from bot.match.normalize import analyze_word, normalize_prefix, normalize_term  # noqa: E402
from bot.match.topics import load_topics  # noqa: E402
from bot.model import Item, Topic  # noqa: E402

SEED = 2024
TOPIC_COUNTS = (10, 1_000, 10_000)
QUICK_TOPIC_COUNTS = (10, 1_000)
WARM_UP_ITEMS = 1_000
EMPTY = Item(feed_url="", key="empty", title="")
T = TypeVar("T")

# Targets from the issue "Topic matching … explainable, fast at thousands of topics".
TARGET_COST_RATIO = 2.0
TARGET_ITEMS_PER_S_AT_1000 = 5_000
TARGET_COMPILE_10000_S = 2.0


@dataclass(frozen=True, slots=True)
class Run:
    """One engine at one topic count."""

    compile_s: float
    items_per_s: float
    items_timed: int
    matches_per_item: float
    found: Sequence[frozenset[str]]  # topic ids per item, for the items the baseline also ran


@dataclass(frozen=True, slots=True)
class Row:
    topics: int
    ours: Run
    baseline: Run
    matcher_bytes: int


def main(argv: Sequence[str] | None = None) -> int:
    options = _options(argv)
    cpu = _pin_to_one_cpu()
    rng = random.Random(options.seed)
    vocab = vocabulary(ROOT, rng)
    items = make_items(vocab, options.items, rng)
    builtins = load_topics(ROOT / "config" / "topics.toml", vocab.aliases)
    counts = sorted(options.topics)
    generated = make_topics(vocab, max(counts) - len(builtins), rng)
    gc.collect()
    gc.freeze()  # the corpus is not what is measured: keep the collector from walking it
    _print_header(options, cpu, vocab, items, builtins)
    topic_sets = [[*builtins, *generated[: max(n - len(builtins), 0)]][:n] for n in counts]
    ours = _run_matchers(topic_sets, vocab.aliases, items, options.repeat)
    rows = []
    for topics, (run, matcher) in zip(topic_sets, ours, strict=True):
        row = _measure(topics, vocab.aliases, items, options, run, matcher)
        _print_row(row, len(items))
        rows.append(row)
    _print_summary(rows)
    if options.markdown:
        _print_markdown(rows, options)
    return 0


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, help="news items to match (default 20,000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few items, short budget")
    parser.add_argument("--seed", type=int, default=SEED, help=f"corpus seed (default {SEED})")
    parser.add_argument(
        "--topics",
        type=lambda text: [int(part) for part in text.split(",")],
        help="topic counts, comma-separated (default 10,1000,10000; --quick: 10,1000)",
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        help="time the baseline may take per topic count before it is extrapolated (default 15)",
    )
    parser.add_argument(
        "--repeat", type=int, help="timed passes per figure, the best one counts (default 3)"
    )
    parser.add_argument("--markdown", action="store_true", help="print bench/README.md rows")
    options = parser.parse_args(argv)
    if options.items is None:
        options.items = 200 if options.quick else 20_000
    if options.topics is None:
        options.topics = list(QUICK_TOPIC_COUNTS if options.quick else TOPIC_COUNTS)
    if options.baseline_seconds is None:
        options.baseline_seconds = 0.3 if options.quick else 15.0
    if options.repeat is None:
        options.repeat = 1 if options.quick else 3
    if options.items < 1 or options.repeat < 1 or any(count < 1 for count in options.topics):
        parser.error("--items, --repeat and --topics must be positive")
    return options


def _pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "one thread (this OS cannot pin to a CPU)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


# --- measuring ---------------------------------------------------------------------------------


def _measure(
    topics: Sequence[Topic],
    aliases: Mapping[str, Sequence[str]],
    items: Sequence[Item],
    options: argparse.Namespace,
    ours: Run,
    matcher: Matcher,
) -> Row:
    """The baseline at one topic count, and the matcher's answers on the items it saw."""
    baseline = _run_baseline(topics, aliases, items, options.baseline_seconds, options.repeat)
    checked = len(baseline.found)
    found = [frozenset(match.topic_id for match in matcher.match(item)) for item in items[:checked]]
    ours = Run(ours.compile_s, ours.items_per_s, ours.items_timed, ours.matches_per_item, found)
    return Row(len(topics), ours, baseline, _matcher_bytes(topics, aliases))


def _run_matchers(
    topic_sets: Sequence[Sequence[Topic]],
    aliases: Mapping[str, Sequence[str]],
    items: Sequence[Item],
    repeat: int,
) -> list[tuple[Run, Matcher]]:
    """Compile a matcher per topic count, then time passes over the items taking turns, so that
    the machine's ups and downs fall on every topic count alike (the ratios are the figures)."""
    compiled = []
    for topics in topic_sets:

        def build(topics: Sequence[Topic] = topics) -> Matcher:
            matcher = Matcher(topics, aliases)
            matcher.match(EMPTY)  # builds the automaton now rather than on the first item
            return matcher

        compiled.append(_compile(build, repeat))
    for _, matcher in compiled:
        for item in items[:WARM_UP_ITEMS]:
            matcher.match(item)
    elapsed = [float("inf")] * len(compiled)
    matches = [0] * len(compiled)
    for _ in range(repeat):
        for turn, (_, matcher) in enumerate(compiled):
            gc.collect()
            started = process_time()
            matches[turn] = sum(len(matcher.match(item)) for item in items)
            elapsed[turn] = min(elapsed[turn], process_time() - started)
    return [
        (Run(compile_s, len(items) / seconds, len(items), found / len(items), ()), matcher)
        for (compile_s, matcher), seconds, found in zip(compiled, elapsed, matches, strict=True)
    ]


def _run_baseline(
    topics: Sequence[Topic],
    aliases: Mapping[str, Sequence[str]],
    items: Sequence[Item],
    budget_s: float,
    repeat: int,
) -> Run:
    """Like ``_run_matcher``; the first pass stops at ``budget_s / repeat`` and sets the items."""
    compile_s, baseline = _compile(lambda: RegexBaseline(topics, aliases), repeat)
    for item in items[:20]:
        baseline.match(item)
    gc.collect()
    found, matches = [], 0
    started = process_time()
    elapsed = 0.0
    for item in items:
        topic_ids = baseline.match(item)
        found.append(frozenset(topic_ids))
        matches += len(topic_ids)
        elapsed = process_time() - started
        if elapsed > budget_s / repeat and len(found) >= 5:
            break
    timed = len(found)
    for _ in range(repeat - 1):
        gc.collect()
        started = process_time()
        for item in items[:timed]:
            baseline.match(item)
        elapsed = min(elapsed, process_time() - started)
    return Run(compile_s, timed / elapsed, timed, matches / timed, found)


def _compile(build: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The best time of ``build`` from cold normalization caches, as at start-up."""
    best = float("inf")
    for _ in range(repeat):
        for cached in (analyze_word, normalize_term, normalize_prefix):
            cached.cache_clear()
        gc.collect()
        started = process_time()
        built = build()
        best = min(best, process_time() - started)
    return best, built


def _matcher_bytes(topics: Sequence[Topic], aliases: Mapping[str, Sequence[str]]) -> int:
    gc.collect()
    tracemalloc.start()
    matcher = Matcher(topics, aliases)
    matcher.match(EMPTY)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del matcher
    return size


# --- printing ----------------------------------------------------------------------------------


def _print_header(
    options: argparse.Namespace,
    cpu: str,
    vocab: Vocabulary,
    items: Sequence[Item],
    builtins: Sequence[Topic],
) -> None:
    lengths = sorted(len(item.title) + 1 + len(item.summary) for item in items)
    mix = " / ".join(
        f"{language} {weight:.0%}"
        for language, weight in zip(LANGUAGES, LANGUAGE_WEIGHTS, strict=True)
    )
    gazetteer = ROOT / "config" / "places.toml"
    places = "config/places.toml" if gazetteer.is_file() else "the built-in list"
    print(
        "Wirewatch topic matching benchmark" + (" (--quick: a smoke run)" if options.quick else "")
    )
    print(
        f"items: {len(items):,} synthetic ({mix}), {lengths[0]}–{lengths[-1]} characters "
        f"(median {lengths[len(lengths) // 2]}), seed {options.seed}"
    )
    print(
        f"topics: {len(builtins)} built-in + generated; {len(vocab.places)} places from {places}, "
        f"{len(vocab.villages):,} villages, {len(vocab.people):,} people"
    )
    print(
        f"machine: {cpu} ({_cpu_model()}), Python {platform.python_version()}, "
        f"pyahocorasick {version('pyahocorasick')}"
    )
    print()
    print(
        f"{'topics':>7} | {'matcher: compile':>16} {'items/s':>9} {'matches/item':>12} "
        f"| {'baseline: compile':>17} {'items/s':>9} | {'speed-up':>8}"
    )


def _print_row(row: Row, item_count: int) -> None:
    ours, base = row.ours, row.baseline
    note = ""
    if base.items_timed < item_count:
        note = f"  (baseline on {base.items_timed:,} of {item_count:,} items, extrapolated)"
    print(
        f"{row.topics:>7,} | {ours.compile_s:>14.2f} s {ours.items_per_s:>9,.0f} "
        f"{ours.matches_per_item:>12.2f} | {base.compile_s:>15.2f} s {base.items_per_s:>9,.0f} "
        f"| {ours.items_per_s / base.items_per_s:>7.1f}×{note}",
        flush=True,
    )


def _print_summary(rows: Sequence[Row]) -> None:
    smallest, largest = rows[0], rows[-1]
    checked = sum(len(row.baseline.found) for row in rows)
    agree = sum(
        ours == theirs
        for row in rows
        for ours, theirs in zip(row.ours.found, row.baseline.found, strict=True)
    )
    print()
    print(f"results: the matcher and the baseline agree on {agree:,} of {checked:,} items checked")
    ratio = smallest.ours.items_per_s / largest.ours.items_per_s
    verdict = _verdict(
        ratio <= TARGET_COST_RATIO, (smallest.topics, largest.topics) == (10, 10_000)
    )
    print(
        f"cost ratio {largest.topics:,} vs {smallest.topics:,} topics: {ratio:.2f}× per item "
        f"(target ≤ {TARGET_COST_RATIO:g}× for 10,000 vs 10): {verdict}"
    )
    at_1000 = next((row for row in rows if row.topics == 1_000), None)
    if at_1000 is not None:
        rate = at_1000.ours.items_per_s
        print(
            f"items/s at 1,000 topics: {rate:,.0f} on one core "
            f"(target ≥ {TARGET_ITEMS_PER_S_AT_1000:,}): "
            f"{_verdict(rate >= TARGET_ITEMS_PER_S_AT_1000)}"
        )
    seconds = largest.ours.compile_s
    verdict = _verdict(seconds < TARGET_COMPILE_10000_S, largest.topics == 10_000)
    print(
        f"compile {largest.topics:,} topics: {seconds:.2f} s "
        f"(target < {TARGET_COMPILE_10000_S:g} s for 10,000): {verdict}"
    )
    for row in rows:
        print(
            f"speed-up over the baseline at {row.topics:,} topics: "
            f"{row.ours.items_per_s / row.baseline.items_per_s:.1f}×"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    held = ", ".join(f"{row.topics:,} topics {row.matcher_bytes / 2**20:.1f} MB" for row in rows)
    print(f"peak memory: {peak:,.0f} MB RSS (whole run); the compiled matcher holds {held}")


def _verdict(met: bool, applies: bool = True) -> str:
    if not applies:
        return "not measured here"
    return "met" if met else "MISSED"


def _print_markdown(rows: Sequence[Row], options: argparse.Namespace) -> None:
    """Rows for the two tables of bench/README.md: one per topic count, one for the targets."""
    run = f"| {date.today().isoformat()} | {_commit()} | {_cpu_model()} | {options.items:,} "
    print()
    print("bench/README.md rows, per topic count:")
    for row in rows:
        print(
            f"{run}| {row.topics:,} | {row.ours.compile_s:.2f} s | {row.ours.items_per_s:,.0f} "
            f"| {row.ours.matches_per_item:.2f} | {row.baseline.items_per_s:,.0f} "
            f"| {row.ours.items_per_s / row.baseline.items_per_s:.0f}× "
            f"| {row.matcher_bytes / 2**20:.1f} MB |"
        )
    by_count = {row.topics: row for row in rows}
    if {10, 1_000, 10_000} <= by_count.keys():
        ratio = by_count[10].ours.items_per_s / by_count[10_000].ours.items_per_s
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("bench/README.md row, targets:")
        print(
            f"{run}| {ratio:.2f}× | {by_count[1_000].ours.items_per_s:,.0f} "
            f"| {by_count[10_000].ours.compile_s:.2f} s | {peak:,.0f} MB |"
        )


def _commit() -> str:
    try:
        described = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "?"
    return described.stdout.strip() or "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
