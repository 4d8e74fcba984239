"""Personal data taken out of free text before it is stored.

Customers type their e-mail address, phone number, card number or resident registration number
into a help chat. Nothing needs them kept: the agent knows the customer through the host page's
customer id. So every free text the store keeps (questions, answers, feedback comments, the
hand-off note) passes through :func:`redact` first, and each find is replaced by a placeholder
that says what was there: ``[email]``, ``[phone]``, ``[card]``, ``[rrn]``.

These are the first rules, Korean and English; the security issue extends them.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 주민등록번호 / 외국인등록번호: six digits of birth date, a hyphen or not, seven digits.
_RRN = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-?[1-8]\d{6}(?!\d)")
# Card numbers: 13 to 19 digits, in groups or not; checked with Luhn so order numbers survive.
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# Phone numbers, with their usual separators so order and model numbers survive: Korean mobile
# (010-1234-5678, 01012345678) and landline (02-123-4567, 031-123-4567), international
# (+82 10 1234 5678, +1 415 555 0132) and North American (415-555-0132, (415) 555-0132,
# 1-800-555-0177).
_PHONE = re.compile(
    r"(?<![0-9A-Za-z+-])(?:"
    r"01[016789]-?\d{3,4}-?\d{4}"
    r"|0\d{1,2}[ .-]\d{3,4}[ .-]\d{4}"
    r"|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,4}"
    r"|(?:1[ .-])?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}"
    r")(?![0-9A-Za-z-])"  # Korean particles may follow: 010-1234-5678로
)


def redact(text: str) -> str:
    """``text`` with e-mail addresses, resident registration, card and phone numbers replaced."""
    if not text:
        return text
    text = _EMAIL.sub("[email]", text)
    text = _RRN.sub("[rrn]", text)
    text = _CARD.sub(lambda m: "[card]" if _luhn(m.group()) else m.group(), text)
    return _PHONE.sub("[phone]", text)


def _luhn(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return len(digits) >= 13 and total % 10 == 0
