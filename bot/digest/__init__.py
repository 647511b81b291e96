"""Scheduled digests: the day's stories per topic, on time in every time zone, exactly once.

In the order a digest happens:

- ``localtime``: wall-clock times in a chat's zone → instants (DST gaps and repeats), quiet hours.
- ``schedule``: rules ("daily 08:00", "every 6h") as pure functions: ``next_run``, ``due_periods``.
- ``scheduler``: one APScheduler job per stored schedule, catch-up at start, quiet-hour release.
- ``runner``: claim a period and queue its messages in one transaction.
- ``content``: a period's matches → ranked stories per topic (a ``Digest``).
- ``split``: a digest → messages within a platform's limits (measured by ``bot/delivery``).
"""
