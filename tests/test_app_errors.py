"""The catch-all error handler: a bug anywhere behind a route is a logged, opaque 500 problem.

The app is built over a stub helpdesk whose every service call raises a plain RuntimeError, so
no index, model or disk is involved.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.config import Settings

# What a bug might carry in its message; none of it may reach the customer.
LEAK = "connection string postgres://admin:hunter2@db.internal/helpdesk"


class BrokenHelpdesk:
    """A helpdesk whose requests get past validation and then hit a bug."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def search(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(LEAK)

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(LEAK)

    def record_feedback(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(LEAK)


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    settings = Settings(
        data_dir=tmp_path / "data", embedding="fake", reload_interval=0.0, llm="extractive"
    )
    app = create_app(settings, helpdesk=BrokenHelpdesk(settings))  # type: ignore[arg-type]
    return app.test_client()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/search?q=warranty", None),
        ("POST", "/api/ask", {"question": "How long is the warranty?"}),
        ("POST", "/api/feedback", {"conversation_id": "conversation-1", "helpful": True}),
    ],
)
def test_unexpected_error_is_a_logged_opaque_500_problem(
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    with caplog.at_level(logging.ERROR, logger="helpdesk"):
        response = client.open(path, method=method, json=body)

    assert response.status_code == 500, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_data(as_text=True))
    assert problem == {
        "type": "/problems/internal",
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error occurred",
        "code": "internal",
    }
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "RuntimeError" not in text

    # The operator gets what the customer does not: the error and where it happened.
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "helpdesk.api.problems" and record.getMessage() == "unhandled error"
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError and str(record.exc_info[1]) == LEAK
