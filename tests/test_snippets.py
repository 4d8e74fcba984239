"""Snippets: highlights wrap exactly the matched words; the HTML form escapes document text."""

from __future__ import annotations

import re

from helpdesk.snippets import make_snippet
from helpdesk.text import Tokenizer
from helpdesk.types import Snippet


def marked(snippet: Snippet) -> list[str]:
    return [snippet.text[start:end] for start, end in snippet.highlights]


def test_highlights_wrap_exactly_the_matched_words(tokenizer: Tokenizer) -> None:
    text = "The speaker is connecting to Wi-Fi. Connected speakers glow blue."
    snippet = make_snippet(text, "connect speaker", tokenizer)
    assert snippet.text == text
    assert marked(snippet) == ["speaker", "connecting", "Connected", "speakers"]
    # Stop words and unrelated words are not marked.
    assert "The" not in marked(snippet) and "blue" not in marked(snippet)


def test_highlights_are_in_order_and_do_not_overlap(tokenizer: Tokenizer) -> None:
    snippet = make_snippet("reset reset the reset button", "reset", tokenizer)
    assert marked(snippet) == ["reset", "reset", "reset"]
    ends = [0]
    for start, end in snippet.highlights:
        assert start >= ends[-1] and end > start
        ends.append(end)


def test_whitespace_is_collapsed_and_offsets_still_match(tokenizer: Tokenizer) -> None:
    snippet = make_snippet("Hold   the\n\nbutton\tfor five seconds.", "button seconds", tokenizer)
    assert snippet.text == "Hold the button for five seconds."
    assert marked(snippet) == ["button", "seconds"]


def test_korean_words_with_particles_are_marked_whole(tokenizer: Tokenizer) -> None:
    text = "스피커를 와이파이에 연결하려면 앱을 여세요."
    snippet = make_snippet(text, "스피커 연결", tokenizer)
    assert marked(snippet) == ["스피커를", "연결하려면"]


def test_no_matching_terms_means_no_highlights(tokenizer: Tokenizer) -> None:
    snippet = make_snippet("Charge the camera battery.", "thermostat", tokenizer)
    assert snippet.highlights == ()
    assert snippet.html == "Charge the camera battery."


def test_a_long_text_is_windowed_around_the_matches_on_word_boundaries(
    tokenizer: Tokenizer,
) -> None:
    filler = " ".join(f"filler{n}" for n in range(80))
    text = f"{filler} Hold the action button to start Bluetooth pairing. {filler}"
    snippet = make_snippet(text, "Bluetooth pairing", tokenizer, width=120)
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert len(snippet.text) <= 120 + 2
    assert marked(snippet) == ["Bluetooth", "pairing"]
    words = set(text.split())
    for word in snippet.text.strip("…").split():
        assert word in words  # no word was cut in half


def test_html_escapes_document_text_and_only_marks_are_markup(tokenizer: Tokenizer) -> None:
    text = 'Reset <img src=x onerror=alert(1)> the <script>speaker</script> & "router" <b>now</b>.'
    snippet = make_snippet(text, "speaker reset", tokenizer)
    html = snippet.html
    assert "<img" not in snippet.text and "<b>" not in snippet.text  # HTML markup is removed
    assert "&lt;script&gt;" in html  # anything else that looks like a tag is escaped
    assert "the &lt;script&gt;<mark>speaker</mark>&lt;/script&gt;" in html
    assert "&amp;" in html and "&quot;router&quot;" in html
    assert "<mark>Reset</mark>" in html and "<mark>speaker</mark>" in html
    tags = re.findall(r"<[^>]*>", html)
    assert set(tags) == {"<mark>", "</mark>"}


def test_html_escapes_inside_a_mark_too() -> None:
    snippet = Snippet("a <x> b", ((2, 5),))
    assert snippet.html == "a <mark>&lt;x&gt;</mark> b"
