"""Personal data found and replaced: the labelled set's figures per kind, and the rules."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from helpdesk.evaluation.pii import load_pii_set, score
from helpdesk.text import RedactingFilter, redact
from helpdesk.text.redaction import KINDS, find_pii, pii_counts

PII_SET = Path(__file__).parent / "data" / "pii.yaml"
# Floors under the figures of scripts/eval_pii.py (docs/security.md), per split and kind.
RECALL_FLOOR = 0.95
PRECISION_FLOOR = 0.85


def test_the_labelled_set_is_large_and_covers_every_kind_in_both_splits() -> None:
    texts = load_pii_set(PII_SET)
    assert len(texts) >= 150
    assert sum(1 for t in texts if not t.spans) >= 75  # hard negatives
    for split in ("dev", "test"):
        kinds = {kind for t in texts if t.split == split for kind, _, _ in t.spans}
        assert kinds == set(KINDS), split


@pytest.mark.parametrize("split", ["dev", "test"])
def test_precision_and_recall_per_kind_stay_above_their_floors(split: str) -> None:
    scores, leaked = score([t for t in load_pii_set(PII_SET) if t.split == split])
    assert leaked == 0
    for kind, s in scores.items():
        assert s.recall >= RECALL_FLOOR, (kind, s.misses)
        assert s.precision >= PRECISION_FLOOR, (kind, s.false_alarms)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("신한은행 110-123-456789로 환불", "신한은행 [account]로 환불"),
        ("카카오뱅크 3333-01-1234567 계좌", "카카오뱅크 [account] 계좌"),
        ("국민은행 계좌 12345678901234 로", "국민은행 계좌 [account] 로"),
        ("서울특별시 강남구 테헤란로 123 으로", "[address] 으로"),
        ("래미안 아파트 101동 1203호", "[address]"),
        ("ship to 1600 Amphitheatre Pkwy, Mountain View, CA 94043 now", "ship to [address] now"),
        ("my zip code is 90210", "my zip code is [address]"),
        ("new mail kim@naver.com", "new mail [email]"),
    ],
)
def test_accounts_addresses_and_mail_are_replaced(typed: str, stored: str) -> None:
    assert redact(typed) == stored


@pytest.mark.parametrize(
    "kept",
    [
        "call 1-800-555-0177 or 080-123-4567 or 1588-1234",  # the company's own lines
        "write to support@example.com",  # and its mailboxes
        "invoice INV-2026-004512, tracking 6012-3456-7890",
        "order 2026-1201-0042 for 129,000원 on 2026-11-02 at 14:30",
        "주문 12345678901234 는 계좌와 상관없어요",  # digits without a bank word before them
    ],
)
def test_company_numbers_and_codes_are_kept(kept: str) -> None:
    assert redact(kept) == kept


def test_findings_do_not_overlap_and_counts_name_their_kinds() -> None:
    text = "카드 4111 1111 1111 1111, 전화 010-1234-5678, 메일 a.b@gmail.com, 또 010-9999-8888"
    findings = find_pii(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))
    assert pii_counts(text) == {"card": 1, "phone": 2, "email": 1}


def test_log_lines_are_redacted_messages_and_tracebacks_alike(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("helpdesk.test_redaction")
    caplog.handler.addFilter(RedactingFilter())
    try:
        raise ValueError("bad RRN 900101-1234567")
    except ValueError:
        log.exception("question %r from %s", "제 번호 010-1234-5678", "kim@naver.com")
    written = caplog.handler.format(caplog.records[0])
    assert "010-1234-5678" not in written and "kim@naver.com" not in written
    assert "900101-1234567" not in written
    assert "[phone]" in written and "[email]" in written and "[rrn]" in written
