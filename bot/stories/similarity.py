"""How alike two items are, as a score in [0, 1]; the clusterer joins a story above ``THRESHOLD``.

Contract, in order:

1. ``lexical``: the MinHash estimate of the Jaccard similarity of the two lexical sets (same
   language, same wording: wire copy, light rewrites).
2. ``neutral``: the weighted Jaccard similarity of the language-neutral sets (concepts, numbers,
   names), weighted by kind (``WEIGHTS``): a shared city or number says more than a shared "bus".
   This is what joins an English, a Ukrainian and a Russian report of the same convoy.
3. The base score is the larger of the two.
4. Facts that tell events apart scale it down (``PENALTIES``): one item says the event was halted
   (postponed, cancelled, turned back) and the other that it moved (left, arrived); both give
   numbers and none is shared; both name cities and none is shared; both name weekdays and none is
   shared.
5. Time scales it down too: full weight up to ``FRESH_HOURS`` apart, then linearly down to
   ``STALE_FACTOR`` at ``STALE_HOURS`` (the window): the same words two days apart are more often
   a new event in the same place than a late report of the old one.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from bot.stories.features import StoryFeatures
from bot.stories.gazetteer import UBIQUITOUS
from bot.stories.minhash import pack, packed_jaccard

__all__ = [
    "PENALTIES",
    "THRESHOLD",
    "WEIGHTS",
    "Profile",
    "similarity",
    "token_weight",
]

THRESHOLD = 0.3
WEIGHTS = {"place": 3.0, "org": 2.0, "num": 2.0, "name": 2.0, "ev": 1.0, "day": 1.0, "country": 1.0}
UBIQUITOUS_WEIGHT = 0.25
PENALTIES = {"state": 0.5, "number": 0.7, "place": 0.4, "day": 0.75}
FRESH_HOURS = 6.0
STALE_HOURS = 48.0
STALE_FACTOR = 0.5

_EMPTY: frozenset[str] = frozenset()
_MOVED = frozenset({"st:departed", "st:arrived"})
_HALTED = "st:halted"


@dataclass(frozen=True, slots=True)
class Profile:
    """An item as the similarity sees it: features, signature, time (seconds), neutral weight.

    The signature is kept packed (``minhash.pack``): comparing two is a few integer operations
    (``packed_jaccard``), not a Python loop over the values.
    """

    features: StoryFeatures
    signature: int
    num_perm: int
    time: float
    weight: float
    facts: bool  # any states, numbers, places or days (what ``PENALTIES`` compare)

    @classmethod
    def of(cls, features: StoryFeatures, signature: array[int], time: float) -> Profile:
        """The profile of an item; the lexical set is left out (the signature stands for it)."""
        if len(_WEIGHTS) > _WEIGHTS_LIMIT:
            _WEIGHTS.clear()
        weight = sum(map(_weight_of, features.neutral))
        facts = bool(features.states or features.numbers or features.places or features.days)
        stored = StoryFeatures(
            lexical=_EMPTY,
            neutral=features.neutral,
            numbers=features.numbers,
            places=features.places,
            states=features.states,
            days=features.days,
        )
        return cls(stored, pack(signature), len(signature), time, weight, facts)


class _Weights(dict[str, float]):
    """Token → weight, computed on first use (a hot path: a dict lookup per shared token)."""

    def __missing__(self, token: str) -> float:
        kind, _, name = token.partition(":")
        weight = UBIQUITOUS_WEIGHT if kind == "country" and name in UBIQUITOUS else WEIGHTS[kind]
        self[token] = weight
        return weight


_WEIGHTS = _Weights()
_WEIGHTS_LIMIT = 200_000
_weight_of = _WEIGHTS.__getitem__


def token_weight(token: str) -> float:
    return _weight_of(token)


def similarity(first: Profile, second: Profile, floor: float = 0.0) -> float:
    """The score of ``first`` and ``second`` belonging to one story (symmetric).

    With ``floor``, a pair whose penalties and time factor alone keep it below ``floor`` gets 0.0
    at once, without the costlier part (the shared neutral weight, the signatures): the clusterer
    only needs scores that can win (on the stories bench the penalties rule out over half the
    candidates). The score never exceeds that bound (both scale a base ≤ 1, and rounding is
    monotonic), so every score returned at or above ``floor`` is the exact one.
    """
    both_facts = first.facts and second.facts  # a penalty needs facts on both sides
    factor = _penalty(first.features, second.features) if both_facts else 1.0
    hours = abs(first.time - second.time) / 3600
    stale = hours > FRESH_HOURS
    if floor and (factor * _staleness(hours) if stale else factor) < floor:
        return 0.0
    shared = first.features.neutral & second.features.neutral
    if shared:
        shared_weight = sum(map(_weight_of, shared))
        union_weight = first.weight + second.weight - shared_weight
        neutral = shared_weight / union_weight if union_weight > 0 else 0.0
    else:
        neutral = 0.0
    num_perm = first.num_perm if first.num_perm == second.num_perm else 0
    lexical = packed_jaccard(first.signature, second.signature, num_perm)
    best = lexical if lexical > neutral else neutral
    if not best:
        return 0.0
    if factor != 1.0:
        best *= factor
    return best * _staleness(hours) if stale else best


def _penalty(first: StoryFeatures, second: StoryFeatures) -> float:
    factor = 1.0
    if (first.states or second.states) and _state_conflict(first.states, second.states):
        factor *= PENALTIES["state"]
    if first.numbers and second.numbers and first.numbers.isdisjoint(second.numbers):
        factor *= PENALTIES["number"]
    if first.places and second.places and first.places.isdisjoint(second.places):
        factor *= PENALTIES["place"]
    if first.days and second.days and first.days.isdisjoint(second.days):
        factor *= PENALTIES["day"]
    return factor


def _state_conflict(first: frozenset[str], second: frozenset[str]) -> bool:
    first_halted, second_halted = _HALTED in first, _HALTED in second
    if first_halted == second_halted:
        return False
    moved = second if first_halted else first
    return bool(moved & _MOVED)


def _staleness(hours: float) -> float:
    """The time factor of two items more than ``FRESH_HOURS`` apart."""
    stale = min(1.0, (hours - FRESH_HOURS) / (STALE_HOURS - FRESH_HOURS))
    return 1.0 - (1.0 - STALE_FACTOR) * stale
