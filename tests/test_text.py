"""What the customer reads: document Markdown and model output made plain."""

from __future__ import annotations

import pytest

from helpdesk.text import clean_reply, plain_text


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
