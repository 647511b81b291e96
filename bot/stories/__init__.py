"""Stories: every report of one event, from any outlet and in any language, as one story id.

The engine is pure (no I/O, no clock, no randomness) and incremental: ``StoryClusterer.assign``
takes items in time order and returns a story id at once. Modules, in the order an item meets them:

- ``features``: title + lead → two token sets (lexical, language-neutral) and distinguishing facts
  (numbers, cities, event state, weekdays), using ``bot.match.normalize`` and ``vocabulary``;
- ``vocabulary`` compiles ``lexicon`` (en/uk/ru event words, organisations) and ``gazetteer``
  (the shared ``config/places.toml`` plus built-in places) into a concept matcher;
- ``minhash``: seeded MinHash signatures and LSH band keys;
- ``similarity``: the score of two items (near-duplicate or same concepts, scaled down by
  conflicting facts and by time);
- ``cluster``: identity and URL rules, candidate search (LSH + token index), the window;
- ``cli``: ``wirewatch stories --jsonl``.
"""

from bot.stories.cluster import StoryClusterer

__all__ = ["StoryClusterer"]
