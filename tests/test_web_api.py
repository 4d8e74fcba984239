"""The front ends' server side: pages, the widget script, CORS, the agents' credential, feedback.

Flask's test client over the small index (fake embedder); the pages themselves are exercised in a
real browser by tests/test_browser.py.
"""

from __future__ import annotations

import base64

import pytest
from conftest import SECRET, build_small_index
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.errors import ConfigError
from helpdesk.service import Helpdesk

SHOP = "https://shop.example"
KEY = "agent-key-123"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("web")).replace(
        cors_origins=SHOP, agent_keys=f"other-key,{KEY}"
    )


@pytest.fixture(scope="module")
def client(built: Settings) -> FlaskClient:
    return create_app(built, Helpdesk(built)).test_client()


def basic(password: str, user: str = "agent") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_pages_are_served_with_a_strict_content_security_policy(client: FlaskClient) -> None:
    for path in ("/", "/demo"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "text/html"
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_the_demo_page_embeds_the_widget_with_one_script_tag(client: FlaskClient) -> None:
    page = client.get("/demo").get_data(as_text=True)
    assert '<script src="http://localhost/widget.js"' in page


def test_the_widget_script_is_javascript(client: FlaskClient) -> None:
    response = client.get("/widget.js")
    try:
        assert response.status_code == 200
        assert response.mimetype == "application/javascript"
        assert b"attachShadow" in response.get_data()
    finally:
        response.close()  # the file it streams from


def test_an_allowed_site_gets_cors_headers(client: FlaskClient) -> None:
    preflight = client.options(
        "/api/ask/stream",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    response = client.get("/api/search?q=warranty", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP


def test_other_sites_are_refused_before_anything_runs(client: FlaskClient) -> None:
    for method, path in (("get", "/api/search?q=warranty"), ("post", "/api/ask")):
        response = getattr(client, method)(
            path, headers={"Origin": "https://evil.example"}, json={"question": "warranty"}
        )
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response.headers
    same_site = client.get("/api/search?q=warranty", headers={"Origin": "http://localhost"})
    assert same_site.status_code == 200


def test_no_wildcard_origin_is_accepted() -> None:
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        Settings().replace(cors_origins="*")
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        Settings().replace(cors_origins="shop.example/path")


def test_the_agent_console_needs_a_credential(client: FlaskClient) -> None:
    for path in ("/agent", "/api/agent/search?q=goodwill", "/api/agent/config"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert response.get_json()["code"] == "credential_required"
        wrong = client.get(path, headers=basic("guess"))
        assert wrong.status_code == 403, path
        assert SECRET not in wrong.get_data(as_text=True)
    assert client.get("/agent", headers=basic(KEY)).status_code == 200
    bearer = client.get("/api/agent/config", headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 200


def test_agents_see_internal_documents_with_their_audience(client: FlaskClient) -> None:
    query = f"/api/agent/search?q=goodwill+credit+override+{SECRET}"
    everything = client.get(query, headers=basic(KEY)).get_json()["results"]
    assert everything[0]["audience"] == "internal"
    assert SECRET in everything[0]["snippet"]
    internal = client.get(query + "&audience=internal", headers=basic(KEY)).get_json()
    assert {r["audience"] for r in internal["results"]} == {"internal"}
    public = client.get(query + "&audience=public", headers=basic(KEY)).get_json()
    assert all(r["audience"] == "public" for r in public["results"])
    answer = client.post(
        "/api/agent/ask",
        json={"question": "When may agents issue a goodwill credit?"},
        headers=basic(KEY),
    ).get_json()
    assert answer["citations"][0]["audience"] == "internal"
    # ...and the public API still never shows that text.
    results = client.get(f"/api/search?q={SECRET}+goodwill+credit").get_json()["results"]
    assert all(SECRET not in r["snippet"] for r in results)


def test_the_agent_api_refuses_other_sites_even_allowed_ones(client: FlaskClient) -> None:
    response = client.get("/api/agent/search?q=goodwill", headers={**basic(KEY), "Origin": SHOP})
    assert response.status_code == 403
    assert response.get_json()["code"] == "origin_not_allowed"


def test_the_console_is_off_without_keys(built: Settings) -> None:
    settings = built.replace(agent_keys="")
    client = create_app(settings, Helpdesk(settings)).test_client()
    response = client.get("/agent", headers=basic(KEY))
    assert response.status_code == 403
    assert response.get_json()["code"] == "agent_console_off"


def test_feedback_is_stored_with_the_conversation(client: FlaskClient) -> None:
    conversation = client.post("/api/ask", json={"question": "How long is the warranty?"})
    answer = conversation.get_json()
    ids = {"conversation_id": answer["conversation_id"], "answer_id": answer["answer_id"]}
    response = client.post("/api/feedback", json={**ids, "helpful": True})
    assert response.status_code == 200
    assert response.get_json() == {"recorded": True, "offer_handoff": False}
    helpdesk: Helpdesk = client.application.extensions["helpdesk"]
    store = helpdesk.store()
    assert store is not None and store.flush()
    stored = store.feedback(answer["conversation_id"])
    assert [(f.answer_id, f.helpful) for f in stored] == [(answer["answer_id"], True)]
    bad = client.post("/api/feedback", json={**ids, "helpful": "y"})
    assert bad.status_code == 422
    extra = client.post("/api/feedback", json={**ids, "helpful": False, "rating": 1})
    assert extra.get_json()["code"] == "unknown_field"


def test_config_tells_front_ends_the_contact_route(client: FlaskClient, built: Settings) -> None:
    body = client.get("/api/config").get_json()
    assert body["contact"] == built.handoff_contact
    assert body["languages"] == ["en", "ko"]


def test_customer_context_is_checked(client: FlaskClient) -> None:
    ok = client.post(
        "/api/ask",
        json={"question": "How long is the warranty?", "plan": "premium", "customer_id": "c-1"},
    )
    assert ok.status_code == 200
    bad = client.post("/api/ask", json={"question": "warranty", "plan": ["premium"]})
    assert bad.status_code == 422
    assert bad.get_json()["code"] == "bad_plan"
