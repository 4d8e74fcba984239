"""Which language a text is in. Korean and English are first-class; anything else is "en"-like.

Hangul against Latin letters is decisive for the ko/en pair and costs microseconds; a general
language identifier would add a dependency for nothing this product can act on.
"""

from __future__ import annotations

import re

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")

SUPPORTED = ("ko", "en")


def detect_language(text: str, default: str = "en") -> str:
    """Return "ko" when Hangul carries the text, "en" when Latin letters do, else ``default``."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if hangul == 0 and latin == 0:
        return default
    # Korean sentences often carry English product names; one Hangul syllable weighs ~3 letters.
    return "ko" if hangul * 3 >= latin else "en"


def has_hangul(text: str) -> bool:
    """True when the text contains any Hangul."""
    return _HANGUL.search(text) is not None
