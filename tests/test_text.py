"""What the customer reads: document Markdown and model output made plain."""

from __future__ import annotations

import pytest

from helpdesk.text import clean_reply, plain_text, redact


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("- **묶음 상품**(예: 세트)은 *전체*를 반품", "묶음 상품(예: 세트)은 전체를 반품"),
        ("Open **Settings > Wi-Fi** and tap `Join`.", "Open Settings > Wi-Fi and tap Join."),
        ("## Reset\n1. Hold the button.", "Reset\n1. Hold the button."),
        ("See [the returns page](https://x.example/returns).", "See the returns page."),
        ("| Light | Meaning |\n|---|:---:|\n| Solid red | No Wi-Fi |",
         "Light: Meaning.\nSolid red: No Wi-Fi."),
        ("Account &gt; Billing &amp; plans", "Account > Billing & plans"),
        ("<strong>Settings &gt; Accessibility</strong>", "Settings > Accessibility"),
        ("5 * 3 = 15 and 2*4", "5 * 3 = 15 and 2*4"),
        ("snake_case_name stays", "snake_case_name stays"),
    ],
)  # fmt: skip
def test_plain_text(markdown: str, plain: str) -> None:
    assert plain_text(markdown) == plain


@pytest.mark.parametrize(
    ("reply", "clean"),
    [
        ("에서 설명한 대로, 전원 버튼을 15초간 누르세요.", "전원 버튼을 15초간 누르세요."),
        ("에 따르면, 보증 기간은 1년입니다.", "보증 기간은 1년입니다."),
        ("According to , hold the button for 15 seconds.", "Hold the button for 15 seconds."),
        ("As described in [], the plan renews monthly.", "The plan renews monthly."),
        ("Open Account &gt; Care &gt; Manage plan .", "Open Account > Care > Manage plan."),
        ("Hold the button ( ) for 15 seconds.", "Hold the button for 15 seconds."),
        ("The reset takes 15 seconds.", "The reset takes 15 seconds."),
        ("Call sort() on the range.", "Call sort() on the range."),
        ("보증 기간에 따르면 달라집니다.", "보증 기간에 따르면 달라집니다."),
    ],
)  # fmt: skip
def test_clean_reply_removes_citation_residue(reply: str, clean: str) -> None:
    assert clean_reply(reply) == clean


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (
            "메일은 kim.minsu@example.co.kr 이고 전화는 010-1234-5678 입니다",
            "메일은 [email] 이고 전화는 [phone] 입니다",
        ),
        ("01012345678로 연락 주세요", "[phone]로 연락 주세요"),
        ("call me at +1 415-555-0132 or (415) 555-0132", "call me at [phone] or [phone]"),
        ("+82 10 1234 5678입니다", "[phone]입니다"),
        ("02-123-4567로 연락주세요", "[phone]로 연락주세요"),
        ("주민번호 900101-1234567 로 가입했어요", "주민번호 [rrn] 로 가입했어요"),
        ("card 4111 1111 1111 1111 was charged twice", "card [card] was charged twice"),
    ],
)
def test_personal_data_is_redacted(typed: str, stored: str) -> None:
    assert redact(typed) == stored


@pytest.mark.parametrize(
    "kept",
    [
        "order 2026-1201-0042 arrived broken",
        "model NH-2 on firmware 2.4.1",
        "my order number is 123456789012",  # fails the card checksum, and no phone shape
        "it cost 1,299,000원 on 2026-11-02",
        "warranty is 2 years, returns 30 days",
    ],
)
def test_order_numbers_dates_and_prices_are_kept(kept: str) -> None:
    assert redact(kept) == kept
