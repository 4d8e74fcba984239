"""The agents' API: search and ask over public AND internal documents, behind a credential.

Agents sign in with HTTP Basic (any user name, an agent key as the password) or send
``Authorization: Bearer KEY``; keys come from HELPDESK_AGENT_KEYS. With no keys configured the
console is off. Same origin only: these endpoints never get CORS headers, and a request from
another site's page is refused before it runs.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ..errors import Forbidden, Unauthorized
from ..retrieval import Query
from ..text import SUPPORTED
from .routes import (
    _choice,
    _helpdesk,
    _json_body,
    _k,
    _question,
    _reject_unknown,
    answer_json,
    corrected_query,
    search_result,
)

agent_api = Blueprint("agent_api", __name__)

REALM = 'Basic realm="helpdesk agents", charset="UTF-8"'
AUDIENCES = ("all", "public", "internal")
_SEARCH_PARAMS = {"q", "k", "product", "language", "audience"}
_ASK_FIELDS = {"question", "locale", "product", "language", "k", "audience", "conversation_id"}


def require_agent() -> None:
    """Raise 401 without a credential, 403 with a wrong one or when the console is off."""
    keys = _helpdesk().settings.agent_credentials
    if not keys:
        raise Forbidden(
            "the agents' console is off: set HELPDESK_AGENT_KEYS to turn it on",
            code="agent_console_off",
        )
    auth = request.authorization
    given = ""
    if auth is not None:
        given = (auth.token if auth.type == "bearer" else auth.password) or ""
    if not given:
        raise Unauthorized(
            "sign in with an agent key (HTTP Basic password or Bearer token)",
            code="credential_required",
        )
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
        raise Forbidden("that agent key is not valid", code="bad_credential")


def _products() -> frozenset[str]:
    return _helpdesk().retriever().snapshot.products


def _query(text: str, k: int, args: Any) -> tuple[Query, str]:
    audience = _choice(args.get("audience"), "audience", AUDIENCES) or "all"
    language = _choice(args.get("language"), "language", SUPPORTED)
    product = _choice(args.get("product"), "product", _products()) if args.get("product") else None
    scope = "public" if audience == "public" else "internal"
    # Internal-only results are filtered after retrieval: ask for more so k survive.
    want = k * 3 if audience == "internal" else k
    return Query(text, k=want, product=product, language=language, audience=scope), audience


def _keep(audience: str, chunk_audience: str) -> bool:
    return audience == "all" or chunk_audience == audience


@agent_api.before_request
def _guard() -> None:
    require_agent()


@agent_api.get("/api/agent/config")
def config() -> ResponseReturnValue:
    return jsonify({"products": sorted(_products()), "languages": sorted(SUPPORTED)})


@agent_api.get("/api/agent/search")
def search() -> ResponseReturnValue:
    args = request.args
    _reject_unknown(set(args), _SEARCH_PARAMS, "parameter")
    text = _question(args.get("q"), "q")
    k = _k(args.get("k"), 10)
    query, audience = _query(text, k, args)
    found = _helpdesk().search(query)
    hits = [h for h in found.hits if _keep(audience, h.passage.chunk.audience)]
    results = [search_result(hit) | {"audience": hit.passage.chunk.audience} for hit in hits[:k]]
    corrected = corrected_query(found.correction)
    return jsonify(
        {"query": text, "corrected_query": corrected, "audience": audience, "results": results}
    )


@agent_api.post("/api/agent/ask")
def ask() -> ResponseReturnValue:
    body = _json_body()
    _reject_unknown(set(body), _ASK_FIELDS, "field")
    text = _question(body.get("question"), "question")
    k = _k(body.get("k"), _helpdesk().settings.top_k)
    # An answer draws on what the agent may see: public only, or public and internal.
    query, _ = _query(text, k, body)
    helpdesk = _helpdesk()
    answer = helpdesk.ask(query, body.get("locale"))
    payload = answer_json(answer, helpdesk.settings.handoff_contact)
    by_chunk = {p.chunk.id: p.chunk.audience for p in answer.passages}
    for citation, shown in zip(answer.citations, payload["citations"], strict=True):
        shown["audience"] = by_chunk.get(citation.chunk_id, "public")
    return jsonify(payload)
