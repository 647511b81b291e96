"""The story clusterer: one id for every report of the same event, across outlets and languages.

Contract: ``StoryClusterer(window).assign(item, key=…)`` returns the story id of ``item``. Items
arrive roughly in time order; each one, in this order:

1. Identity: the same ``key`` (the entry's guid; ``item.key`` unless given) seen within the window
   → its story, whatever the title now says (a correction is never a new story).
2. URL: the same canonical URL (``bot.feeds.urls.canonical_url``: tracking parameters, fragment,
   default port … removed) seen within the window → its story.
3. Similarity: candidates are the members of open stories that share an LSH band of the lexical
   MinHash (near-duplicates), an LSH band of the weighted neutral MinHash (the same concepts in
   any language), or a specific neutral token (a place, organisation, number, name or country);
   each is scored with ``similarity.similarity`` and the item joins the story of the best score
   at or above ``threshold``; ties go to the older story.
4. Otherwise the item starts a new story whose id is its key (or the story already named so).

A story id never changes and stories never merge: alerts already sent name it. The result depends
only on the items and their order (no randomness, no process-seeded hashing).

Memory is bounded by the window: the clock is the latest publication time seen (an item without
one is taken to be published then), and members, index entries, keys and URLs older than the
window are dropped on every call. Lists are capped (``POSTING_CAP`` members per token,
``BUCKET_CAP`` per LSH bucket, most recent kept), which bounds the work per item on a busy stream.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import TypeVar

from bot.feeds.urls import canonical_url
from bot.memo import Memo
from bot.model import Item
from bot.stories.features import StoryFeatures, extract_features
from bot.stories.gazetteer import UBIQUITOUS
from bot.stories.minhash import MinHasher
from bot.stories.similarity import THRESHOLD, Profile, similarity, token_weight
from bot.stories.vocabulary import Vocabulary, default_vocabulary

__all__ = ["BUCKET_CAP", "CANDIDATES", "POSTING_CAP", "StoryClusterer"]

POSTING_CAP = 32
BUCKET_CAP = 8
CANDIDATES = 16
RETRIEVAL_KINDS = ("place:", "org:", "num:", "name:", "country:")
_UBIQUITOUS_TOKENS = frozenset(f"country:{name}" for name in UBIQUITOUS)
# Band keys of the two LSH indexes must not collide: the neutral ones are offset by this.
_NEUTRAL_BANDS = 1 << 70

_K = TypeVar("_K")
_CLOCK = attrgetter("clock")
_STORY_SEQ = attrgetter("story.seq")


@dataclass(slots=True, eq=False)
class _Story:
    id: str
    seq: int
    last_seen: float


@dataclass(slots=True, eq=False)
class _Member:
    story: _Story
    profile: Profile
    clock: float
    bands: tuple[int, ...]  # its LSH band keys, lexical then neutral
    tokens: tuple[str, ...]


@dataclass(slots=True)
class _Seen:
    """When a key or URL was last seen, and its story."""

    story: _Story
    clock: float


_NO_STORY = _Story("", 0, 0.0)  # a member's story until one is chosen

# A bucket holds one member, or a list of them: most buckets of a busy window hold one.
_Bucket = _Member | list[_Member]


@dataclass(slots=True)
class StoryClusterer:
    """Assigns items to stories incrementally; see the module docstring for the rules."""

    window: timedelta = timedelta(hours=48)
    threshold: float = THRESHOLD
    vocabulary: Vocabulary = field(default_factory=default_vocabulary)
    hasher: MinHasher = field(default_factory=lambda: MinHasher(32, bands=8, rows=4, seed=1))
    neutral_hasher: MinHasher = field(
        default_factory=lambda: MinHasher(16, bands=8, rows=2, seed=2)
    )
    _clock: float | None = None
    _seq: int = 0
    _members: deque[_Member] = field(default_factory=deque)
    _stories: dict[str, _Story] = field(default_factory=dict)
    _by_key: dict[str, _Seen] = field(default_factory=dict)
    _by_url: dict[str, _Seen] = field(default_factory=dict)
    _by_band: dict[int, _Bucket] = field(default_factory=dict)
    _by_token: dict[str, deque[_Member]] = field(default_factory=dict)

    def assign(self, item: Item, *, key: str | None = None) -> str:
        """The story id of ``item``; ``key`` overrides ``item.key`` as its identity."""
        identity = item.key if key is None else key
        url = canonical_url(item.url) if item.url else None
        member = self._member(item)
        story = self._known(identity, url)
        if story is None:
            story = self._best_story(member) or self._new_story(identity)
        member.story = story
        self._remember(member, identity, url)
        return story.id

    def observe(self, item: Item, story_id: str, *, key: str | None = None) -> None:
        """Take ``item`` as a member of ``story_id``, decided before (a restart, another instance).

        Later items then join that story exactly as if this clusterer had assigned it.
        """
        identity = item.key if key is None else key
        url = canonical_url(item.url) if item.url else None
        member = self._member(item)
        member.story = self._stories.get(story_id) or self._new_story(story_id)
        self._remember(member, identity, url)

    def _member(self, item: Item) -> _Member:
        """The item's features and signatures; the clock moves to its publication time first."""
        published = self._advance(item.published)
        features = extract_features(item, self.vocabulary)
        signature = self.hasher.signature(features.lexical)
        neutral_signature = self.neutral_hasher.weighted_signature(_weighted(features.neutral))
        bands = (
            *self.hasher.band_keys(signature),
            *[_NEUTRAL_BANDS + key for key in self.neutral_hasher.band_keys(neutral_signature)],
        )
        return _Member(
            story=_NO_STORY,
            profile=Profile.of(features, signature, published),
            clock=self._now,
            bands=bands,
            tokens=_retrieval_tokens(features),
        )

    @property
    def open_stories(self) -> int:
        """How many stories are still open (have a member within the window)."""
        return len(self._stories)

    @property
    def _now(self) -> float:
        return self._clock or 0.0

    def _advance(self, published: datetime | None) -> float:
        """Move the clock to ``published``, expire what fell out of the window; item time."""
        if published is None:
            return self._now
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        time = published.timestamp()
        if self._clock is None or time > self._clock:
            self._clock = time
            self._expire(time - self.window.total_seconds())
        return time

    def _known(self, identity: str, url: str | None) -> _Story | None:
        seen = self._by_key.get(identity)
        if seen is None and identity in self._stories:
            return self._stories[identity]  # its story outlived the record of the key
        if seen is None and url:
            seen = self._by_url.get(url)
        return seen.story if seen is not None else None

    def _best_story(self, member: _Member) -> _Story | None:
        best: _Story | None = None
        best_score = self.threshold
        profile = member.profile
        for candidate in self._candidates(member):
            value = similarity(profile, candidate.profile, best_score)  # 0.0: cannot win
            story = candidate.story
            if value > best_score or (
                value == best_score and (best is None or story.seq < best.seq)
            ):
                best, best_score = story, value
        return best

    def _candidates(self, member: _Member) -> list[_Member]:
        """The members that share the most LSH bands and retrieval tokens, at most ``CANDIDATES``.

        How many keys a member shares ranks it (then recency): scoring is the costly step, and a
        member that shares one common key (Kyiv, a ministry's spokesman) rarely scores high.
        """
        found: list[_Member] = []
        by_band = self._by_band
        for band_key in member.bands:
            bucket = by_band.get(band_key)
            if bucket is not None:
                if isinstance(bucket, list):
                    found.extend(bucket)
                else:
                    found.append(bucket)
        by_token = self._by_token
        for token in member.tokens:
            postings = by_token.get(token)
            if postings is not None:
                found.extend(postings)
        hits = Counter(found)  # members hash by identity; first seen first, as ``found`` has them
        if len(hits) <= CANDIDATES:
            return list(hits)
        return _most_shared(hits)

    def _new_story(self, identity: str) -> _Story:
        self._seq += 1
        return _Story(identity, self._seq, self._now)

    def _remember(self, member: _Member, identity: str, url: str | None) -> None:
        story = member.story
        story.last_seen = self._now
        _touch(self._stories, story.id, story)  # most recently active last: expiry reads the front
        _touch(self._by_key, identity, _Seen(story, self._now))
        if url:
            _touch(self._by_url, url, _Seen(story, self._now))
        self._members.append(member)
        by_band = self._by_band
        for band_key in member.bands:
            bucket = by_band.setdefault(band_key, member)  # most band keys are new
            if bucket is not member:
                _bucket_add(by_band, band_key, bucket, member)
        for token in member.tokens:
            postings = self._by_token.get(token)
            if postings is None:
                postings = self._by_token[token] = deque(maxlen=POSTING_CAP)
            postings.append(member)

    def _expire(self, cutoff: float) -> None:
        members = self._members
        while members and members[0].clock < cutoff:
            member = members.popleft()
            for band_key in member.bands:
                _bucket_remove(self._by_band, band_key, member)
            for token in member.tokens:
                postings = self._by_token.get(token)
                if postings and postings[0] is member:
                    postings.popleft()
                    if not postings:
                        del self._by_token[token]
        while self._stories and next(iter(self._stories.values())).last_seen < cutoff:
            del self._stories[next(iter(self._stories))]
        for table in (self._by_key, self._by_url):
            while table and next(iter(table.values())).clock < cutoff:
                del table[next(iter(table))]


def _most_shared(hits: Counter[_Member]) -> list[_Member]:
    """The first ``CANDIDATES`` by (-hits, -clock, story seq), first seen first on a tie.

    Stable sorts, last key first; the recency sorts only decide among the members tied at the
    cut (most share one key: ~60 of ~100 found), so they run on those alone. Above the cut the
    members stay in order of hits only: the best story does not depend on the order.
    """
    ranked = sorted(hits, key=hits.__getitem__, reverse=True)
    cut = hits[ranked[CANDIDATES - 1]]
    if hits[ranked[CANDIDATES]] != cut:
        return ranked[:CANDIDATES]

    def descending(member: _Member) -> int:
        return -hits[member]

    first = bisect_left(ranked, -cut, key=descending)
    tied = ranked[first : bisect_right(ranked, -cut, lo=CANDIDATES, key=descending)]
    tied.sort(key=_STORY_SEQ)
    tied.sort(key=_CLOCK, reverse=True)
    return ranked[:first] + tied[: CANDIDATES - first]


def _retrieval_tokens(features: StoryFeatures) -> tuple[str, ...]:
    return tuple(sorted(filter(_RETRIEVABLE.__getitem__, features.neutral)))


def _weighted(neutral: frozenset[str]) -> list[tuple[str, int]]:
    """Each token with its weight as a count of copies: MinHash then estimates weighted Jaccard.

    An ubiquitous country counts 0 copies, which leaves it out.
    """
    return list(map(_WEIGHTED.__getitem__, neutral))


_PER_TOKEN_LIMIT = 100_000
# Per token, computed once (``bot.memo``), then looked up from C in ``map`` and ``filter``.
_RETRIEVABLE = Memo[str, bool](
    lambda token: token.startswith(RETRIEVAL_KINDS) and token not in _UBIQUITOUS_TOKENS,
    _PER_TOKEN_LIMIT,
)
_WEIGHTED = Memo[str, tuple[str, int]](
    lambda token: (token, 0 if token in _UBIQUITOUS_TOKENS else round(token_weight(token))),
    _PER_TOKEN_LIMIT,
)


def _touch(table: dict[str, _K], name: str, value: _K) -> None:
    table.pop(name, None)
    table[name] = value


def _bucket_add(index: dict[int, _Bucket], band_key: int, bucket: _Bucket, member: _Member) -> None:
    """Add ``member`` to the existing ``bucket`` of ``band_key`` (another member, or a list)."""
    if isinstance(bucket, list):
        bucket.append(member)
        if len(bucket) > BUCKET_CAP:
            del bucket[0]
    else:
        index[band_key] = [bucket, member]


def _bucket_remove(index: dict[int, _Bucket], band_key: int, member: _Member) -> None:
    bucket = index.get(band_key)
    if bucket is member:
        del index[band_key]
    elif isinstance(bucket, list) and member in bucket:
        bucket.remove(member)
        if len(bucket) == 1:
            index[band_key] = bucket[0]
