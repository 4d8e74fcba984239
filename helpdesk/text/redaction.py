"""Personal data taken out of free text before it is stored, logged or sent.

Customers type their e-mail address, phone number, card number, bank account, home address or
resident registration number into a help chat. Nothing needs them kept: the agent knows the
customer through the host page's customer id. So every free text the store keeps (questions,
feedback comments, the hand-off note) and every log line passes through :func:`redact` first,
and each find is replaced by a placeholder that says what was there: ``[email]``, ``[phone]``,
``[card]``, ``[rrn]``, ``[account]``, ``[address]``.

Phone numbers are found by ``phonenumbers`` (Google's libphonenumber), which knows each
country's numbering plan: a Korean mobile, a Seoul landline and a US number are told apart
from order numbers and dates, and toll-free and company-wide numbers (1-800, 080, 1588-...)
are kept, since they are the company's own, like its support@ and help@ mailboxes. The rest
are patterns tested on the labelled set in tests/data/pii.yaml (``scripts/eval_pii.py`` gives
precision and recall per type). Microsoft Presidio was tried: it runs without a spaCy model,
given an empty NLP engine, but it brings spaCy and a dozen packages for what are regular
expressions here, its e-mail recogniser fetches the public-suffix list from the internet on
first use, and it has no Korean recognisers.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberType

KINDS = ("email", "phone", "rrn", "card", "account", "address")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data in a text: where it is and what kind."""

    kind: str
    start: int
    end: int


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A company's mailboxes (support@, help@...) are published, not personal.
_ROLE_MAILBOX = re.compile(
    r"(?:support|help|helpdesk|info|cs|contact|sales|service|noreply|no-reply|admin|privacy)@",
    re.IGNORECASE,
)
# 주민등록번호 / 외국인등록번호: six digits of birth date, a hyphen or not, seven digits.
_RRN = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-?[1-8]\d{6}(?!\d)")
# The two halves typed apart ("앞자리 880520, 뒷자리 1234567"), only after the word.
_RRN_PARTS = re.compile(
    r"(?:주민|등록번호|RRN)[^\d\n]{0,20}(\d{6})(?:[^\d\n]{1,12}([1-8]\d{6}))?(?!\d)"
)
# Card numbers: 13 to 19 digits, in groups or not; checked with Luhn so order numbers survive.
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# Korean bank accounts in the hyphenated shapes banks print (신한 3-3-6, 국민 6-2-6 and 3-2-4-3,
# 우리 4-3-6, 카카오뱅크 4-2-7, 농협 3-4-4-2, 기업 3-6-2-3, 하나 3-6-5, 토스뱅크 4-4-4 after a
# bank's name), or any 10 to 14 digits right after a word about banks.
_ACCOUNT_SHAPE = re.compile(
    r"(?<![\d-])(?:\d{3}-\d{3}-\d{6}|\d{6}-\d{2}-\d{6}|\d{3}-\d{2}-\d{4}-\d{3}|\d{4}-\d{3}-\d{6}"
    r"|\d{4}-\d{2}-\d{7}|\d{3}-\d{4}-\d{4}-\d{2}|\d{3}-\d{6}-\d{2}-\d{3}|\d{3}-\d{6}-\d{5}"
    r"|\d{4}-\d{4}-\d{4}-\d)(?![\d-])"
)
_BANK_WORDS = (
    r"계좌|입금|은행|예금주|농협|국민|신한|우리|하나|기업|카카오뱅크|토스뱅크|케이뱅크|새마을|"
    r"우체국|수협|부산|대구|SC제일|씨티|bank|account|IBAN"
)
_ACCOUNT_NEAR_WORD = re.compile(
    rf"(?:{_BANK_WORDS})[^\d\n]{{0,12}}((?:\d[ -]?){{9,13}}\d)(?![\d-])", re.IGNORECASE
)
# Korean addresses: a road name and building number (테헤란로 123, 판교역로 235) or a lot
# (역삼동 123-45) after a city or district, or a flat (101동 1203호); their parts are then joined.
_KO_REGION = r"(?:[가-힣]+(?:특별시|광역시|특별자치시|특별자치도|도|시|군|구)|서울|경기|세종)"
_KO_ROAD = re.compile(
    rf"(?:{_KO_REGION}\s+){{1,3}}[가-힣0-9]+(?:로|길)\s?\d{{1,4}}(?:-\d{{1,4}})?(?!\d)"
    rf"|{_KO_REGION}\s+[가-힣]+(?:대로|로)\s?\d{{1,4}}(?!\d)"
)
_KO_LOT = re.compile(r"[가-힣]+[동리가]\s?\d{1,4}-\d{1,4}(?![\d-])")
_KO_UNIT = re.compile(
    r"[가-힣A-Za-z]+\s?(?:아파트|빌라|오피스텔|맨션|타워|기숙사)\s?(?:\d{1,4}동\s?)?\d{1,5}호"
    r"|\d{1,4}동\s?\d{1,5}호|(?<=,\s)\d{2,5}호"
)
# English street addresses: a house number, one to three capitalised words and a street type,
# then the town, state and ZIP code or a UK postcode when they follow.
_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Parkway|Pkwy|Way|"
    r"Place|Pl|Terrace|Loop|Square|Sq|Highway|Hwy"
)
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
_EN_STREET = re.compile(
    rf"\b\d{{1,5}}[A-Z]?\s+(?:[A-Z][a-z]+\s+){{1,3}}(?:{_STREET_TYPES})\b\.?"
    rf"(?:,?\s+(?:{_UK_POSTCODE})\b"
    rf"|(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}}){{1,2}}(?:,\s*[A-Z]{{2}})?"
    rf"(?:\s+\d{{5}}(?:-\d{{4}})?|\s+{_UK_POSTCODE})?)?"
)
_POSTCODE = re.compile(
    rf"(?:zip(?: code)?|postcode|postal code|우편번호)\s*(?:is|:)?\s*"
    rf"(\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE})\b",
    re.IGNORECASE,
)
# Numbers a company publishes: 1-800 and 080 toll-free lines, 1588-style nationwide numbers.
_COMPANY_NUMBERS = {
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.UAN,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.PREMIUM_RATE,
}
_PHONE_REGIONS = ("KR", "US")


def find_pii(text: str) -> list[Finding]:
    """The personal data in ``text``, in order, without overlaps (the earlier-listed kind wins)."""
    if not text:
        return []
    found: list[Finding] = []
    found += [f for f in _spans("email", _EMAIL, text) if not _ROLE_MAILBOX.match(text, f.start)]
    found += _spans("rrn", _RRN, text)
    for match in _RRN_PARTS.finditer(text):
        found += [Finding("rrn", match.start(g), match.end(g)) for g in (1, 2) if match.group(g)]
    # a bank's account shape first: a 13-digit account may pass Luhn by chance
    found += _spans("account", _ACCOUNT_SHAPE, text)
    found += [f for f in _spans("card", _CARD, text) if _luhn(text[f.start : f.end])]
    for match in _ACCOUNT_NEAR_WORD.finditer(text):
        found.append(Finding("account", match.start(1), match.end(1)))
    found += _phones(text)
    found += _addresses(text)
    kept: list[Finding] = []
    for finding in found:  # in order of trust: a card is not also a phone number
        if not any(f.start < finding.end and finding.start < f.end for f in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str) -> str:
    """``text`` with each piece of personal data replaced by a placeholder naming its kind."""
    findings = find_pii(text)
    for finding in reversed(findings):
        text = text[: finding.start] + f"[{finding.kind}]" + text[finding.end :]
    return text


def pii_counts(text: str) -> Counter[str]:
    """How many of each kind of personal data ``text`` holds."""
    return Counter(f.kind for f in find_pii(text))


class RedactingFilter(logging.Filter):
    """A log handler's filter that redacts each record's message (and traceback) before it is
    written: no log line quotes a customer's personal data, whatever a caller passed it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _spans(kind: str, pattern: re.Pattern[str], text: str) -> list[Finding]:
    return [Finding(kind, m.start(), m.end()) for m in pattern.finditer(text)]


def _phones(text: str) -> list[Finding]:
    found: dict[tuple[int, int], Finding] = {}
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
            if phonenumbers.number_type(match.number) in _COMPANY_NUMBERS:
                continue
            before = text[match.start - 1 : match.start]
            if before and (before.isalnum() or before == "-"):
                continue  # the tail of a code: INV-2026-004512, Q-2026-11-0042
            found[match.start, match.end] = Finding("phone", match.start, match.end)
    return list(found.values())


def _addresses(text: str) -> list[Finding]:
    spans = [
        (m.start(), m.end())
        for p in (_KO_ROAD, _KO_LOT, _KO_UNIT, _EN_STREET)
        for m in p.finditer(text)
    ]
    spans += [(m.start(1), m.end(1)) for m in _POSTCODE.finditer(text)]
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        # parts of one address a space or a comma apart: 대학로 99 한국아파트 105동 802호
        if merged and (start < merged[-1][1] or not text[merged[-1][1] : start].strip(" ,")):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [Finding("address", start, end) for start, end in merged]


def _luhn(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return len(digits) >= 13 and total % 10 == 0
