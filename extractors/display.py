"""Text made safe to print on a terminal: titles, URLs and snippets come from pages anyone can write."""

from __future__ import annotations

import re

# C0 and C1 control characters (ESC starts ANSI/OSC sequences that recolour, retitle or hide output) and the
# bidirectional overrides that make a line read differently from its bytes. Tabs and newlines are kept only
# where the output has lines of its own.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[{_CONTROLS}]")
_UNPRINTABLE_LINE = re.compile(f"[{_CONTROLS}\t\n]")


def printable(text: object, *, one_line: bool = True) -> str:
    """`text` without control characters: each becomes U+FFFD (one line: tabs and newlines become spaces)."""
    value = str(text)
    if one_line:
        value = value.replace("\t", " ").replace("\n", " ")
        return _UNPRINTABLE_LINE.sub("\ufffd", value)
    return _UNPRINTABLE.sub("\ufffd", value)
