"""Prometheus metrics: what an operator graphs and alerts on.

One ``Metrics`` per app, on its own registry (no global state, so several apps — tests, several
instances in one process — never mix their counts). Stages record through small methods; the
outbox gauges are refreshed from the store just before each scrape.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.feed_polls = Counter(
            "wirewatch_feed_polls_total",
            "Feed polls by outcome (ok, not-modified, error).",
            ["status"],
            registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "wirewatch_fetch_seconds",
            "Time to fetch and parse one feed.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.items_new = Counter(
            "wirewatch_items_new_total", "Items seen for the first time.", registry=self.registry
        )
        self.matches = Counter(
            "wirewatch_matches_total", "Items matched, by topic.", ["topic"], registry=self.registry
        )
        self.alerts = Counter(
            "wirewatch_alerts_total",
            "Alerts by platform and outcome (queued, sent, failed, retried).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "wirewatch_outbox_depth", "Alerts waiting to be sent.", registry=self.registry
        )
        self.outbox_oldest_seconds = Gauge(
            "wirewatch_outbox_oldest_seconds",
            "Age of the oldest alert waiting to be sent.",
            registry=self.registry,
        )
        self.digest_runs = Counter(
            "wirewatch_digest_runs_total", "Digest periods sent.", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
