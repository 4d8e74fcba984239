"""The HTTP API fuzzed from its own OpenAPI description (/openapi.json) with schemathesis.

Every operation gets generated requests, valid and invalid, against the real app in-process
(WSGI) over the small index with the fake embedder. The bar: no 500 anywhere, and every
response as the description says (status, content type, body schema).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from conftest import build_small_index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from helpdesk import create_app
from helpdesk.service import Helpdesk

KEY = "fuzz-agent-key"
EXAMPLES = 30  # per operation, valid and invalid requests: about 30 s in all
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
def test_no_operation_answers_500_or_breaks_its_description(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    built = replace(build_small_index(tmp_path_factory.mktemp("fuzz")), agent_keys=KEY)
    app = create_app(built, Helpdesk(built))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {KEY}"}
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    modes: Counter[str] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20

    def fuzz(operation: Any) -> None:
        """Up to EXAMPLES requests to one operation, each counted and checked."""

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def run(data: Any) -> None:
            mode = data.draw(st.sampled_from(list(GenerationMode)))
            case = data.draw(operation.as_strategy(mode))
            response = case.call(headers=auth)
            cases[operation.label] += 1
            modes[mode.value] += 1
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=auth)
            except Exception as failure:
                failures.append(f"{operation.label}: {response.status_code}: {failure}")

        run()

    for operation in operations:
        fuzz(operation)

    total = sum(cases.values())
    print(f"schemathesis: {total} cases over {len(cases)} operations, {modes}, {statuses}")
    assert statuses[500] == 0, failures
    assert not failures, "\n\n".join(dict.fromkeys(f[:300] for f in failures))
    # Every operation was tried (GET /api/config takes nothing, so it has one case), with
    # valid and invalid requests both.
    assert len(cases) == 20 and total >= 200
    assert modes["positive"] and modes["negative"]
