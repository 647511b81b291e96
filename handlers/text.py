"""Clean what people type before the command core reads it.

Chat text can carry control characters, bidirectional overrides and zero-width characters that
make an echoed reply lie about what it says; they are removed, and over-long input is refused
rather than cut, so a command never acts on half of what was meant.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_COMMAND_LENGTH", "InputTooLong", "clean_input"]

MAX_COMMAND_LENGTH = 1000
_KEEP = {"\n", "\t", " "}


class InputTooLong(ValueError):
    pass


def clean_input(text: str, *, limit: int = MAX_COMMAND_LENGTH) -> str:
    """Drop control and format characters (RLO, ZWJ …), fold whitespace, refuse text over limit."""
    if len(text) > limit * 4:
        raise InputTooLong(f"that is {len(text)} characters; commands take at most {limit}")
    kept = "".join(
        char
        for char in unicodedata.normalize("NFC", text)
        if char in _KEEP or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    cleaned = " ".join(kept.split())
    if len(cleaned) > limit:
        raise InputTooLong(f"that is {len(cleaned)} characters; commands take at most {limit}")
    return cleaned
