"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``.

Built with apispec from the code: the paths and methods from the app's URL map, each summary
from its view's docstring, and the parameters, fields and allowed values from the request
parsers' own tables (:mod:`.requests`) and the settings' limits. What is written here by hand
is only what the code cannot say: the shapes of the responses.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from ..config import Settings
from ..text import SUPPORTED
from .problems import MAX_BODY_BYTES, PROBLEM_JSON
from .requests import (
    AUDIENCES,
    CONTEXT_FIELDS,
    FEEDBACK_REASONS,
    MAX_COMMENT_CHARS,
    MAX_HANDOFF_MESSAGE_CHARS,
    SEARCH_MODES,
    SURFACES,
    TICKET_STATUSES,
)

openapi_blueprint = Blueprint("openapi", __name__)

_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}
_TEXT = {"type": "string"}
_OBJECT = {"type": "object"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas(settings: Settings) -> dict[str, dict[str, Any]]:
    """The bodies the API takes and gives (responses list their keys; more may come)."""
    question = {"type": "string", "minLength": 1, "maxLength": settings.max_question_chars}
    k = {"type": "integer", "minimum": 1, "maximum": settings.max_k}
    language = {"type": "string", "enum": sorted(SUPPORTED)}
    context = {
        "type": "object",
        "properties": {name: {"type": "string", "maxLength": 64} for name in CONTEXT_FIELDS},
        "additionalProperties": False,
    }
    ask = {
        "question": question,
        "locale": {"type": "string", "examples": ["ko-KR", "en"]},
        "product": {"type": "string"},
        "language": language,
        "k": k,
        "conversation_id": _ID,
        "context": context,
        "surface": {"type": "string", "enum": list(SURFACES)},
    }
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details, with a machine-readable code.",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": _TEXT,
                "title": _TEXT,
                "status": {"type": "integer"},
                "detail": _TEXT,
                "code": _TEXT,
            },
        },
        "AskRequest": {
            "type": "object",
            "required": ["question"],
            "properties": ask,
            "additionalProperties": False,
        },
        "AgentAskRequest": {
            "type": "object",
            "required": ["question"],
            "properties": {
                **{n: s for n, s in ask.items() if n != "surface"},
                "audience": {"type": "string", "enum": list(AUDIENCES)},
            },
            "additionalProperties": False,
        },
        "Answer": {
            "type": "object",
            "required": ["answer", "citations", "grounded", "confidence", "conversation_id"],
            "properties": {
                "answer": _TEXT,
                "citations": {"type": "array", "items": _OBJECT},
                "grounded": {"type": "boolean"},
                "confidence": {"type": "number"},
                "language": _TEXT,
                "handoff": {"type": "boolean"},
                "conversation_id": _TEXT,
                "answer_id": _TEXT,
            },
        },
        "SearchResults": {
            "type": "object",
            "required": ["query", "results"],
            "properties": {
                "query": _TEXT,
                "corrected_query": {"type": ["string", "null"]},
                "results": {"type": "array", "items": _OBJECT},
            },
        },
        "FeedbackRequest": {
            "type": "object",
            "required": ["conversation_id", "helpful"],
            "properties": {
                "conversation_id": _ID,
                "answer_id": _ID,
                "helpful": {"type": "boolean"},
                "reason": {"type": "string", "enum": list(FEEDBACK_REASONS)},
                "comment": {"type": "string", "maxLength": MAX_COMMENT_CHARS},
            },
            "additionalProperties": False,
        },
        "HandoffRequest": {
            "type": "object",
            "required": ["conversation_id"],
            "properties": {
                "conversation_id": _ID,
                "answer_id": _ID,
                "message": {"type": "string", "maxLength": MAX_HANDOFF_MESSAGE_CHARS},
            },
            "additionalProperties": False,
        },
        "ReplyRequest": {
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "maxLength": MAX_HANDOFF_MESSAGE_CHARS}},
            "additionalProperties": False,
        },
        "Event": {
            "type": "object",
            "description": "One Server-Sent Event; its data is the JSON of that event.",
            "required": ["event", "data"],
            "properties": {
                "event": {"type": "string", "enum": ["sources", "draft", "token", "final"]},
                "data": {"type": "string", "contentMediaType": "application/json"},
            },
        },
        "Ticket": {
            "type": "object",
            "required": ["reference", "status"],
            "properties": {"reference": _TEXT, "status": _TEXT, "replies": {"type": "array"}},
        },
    }


def _query_parameters(settings: Settings, agent: bool) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": "q",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": settings.max_question_chars},
        },
        {
            "name": "k",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": settings.max_k},
        },
        {"name": "product", "in": "query", "schema": _TEXT},
        {
            "name": "language",
            "in": "query",
            "schema": {"type": "string", "enum": sorted(SUPPORTED)},
        },
        {
            "name": "mode",
            "in": "query",
            "description": "typing: the cheap ranking while the customer types (no typo pass, "
            "BM25 and one fast model); full (the default): everything, for the settled query.",
            "schema": {"type": "string", "enum": list(SEARCH_MODES)},
        },
    ]
    if agent:
        parameters.append(
            {
                "name": "audience",
                "in": "query",
                "schema": {"type": "string", "enum": list(AUDIENCES)},
            }
        )
    return parameters


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, **_json(schema)}


def _operations(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per endpoint: what the code's docstring cannot say (parameters, bodies, responses)."""
    answer_or_stream = {
        "description": "The final answer, or with Accept: text/event-stream its events",
        "content": {
            "application/json": {"schema": _ref("Answer")},
            "text/event-stream": {"schema": _ref("Event")},
        },
    }
    stream = {
        "description": "Server-Sent Events: sources, draft, token..., final",
        "content": {"text/event-stream": {"schema": _ref("Event")}},
    }
    ticket_id = {"name": "ticket_id", "in": "path", "required": True, "schema": _TEXT}
    body = {"required": True, **_json(_ref("AskRequest"))}
    # The dashboard's UTC days, both included (the last 7 by default, at most 366).
    insights_range = [
        {"name": name, "in": "query", "schema": {"type": "string", "format": "date"}}
        for name in ("from", "to")
    ]
    optional_empty = {
        "required": False,
        **_json({"type": "object", "additionalProperties": False}),
    }
    return {
        "api.search": {
            "parameters": _query_parameters(settings, agent=False),
            "responses": {"200": _ok(_ref("SearchResults"))},
        },
        "api.ask": {"requestBody": body, "responses": {"200": answer_or_stream}},
        "api.ask_stream": {"requestBody": body, "responses": {"200": stream}},
        "api.config": {"responses": {"200": _ok(_OBJECT)}},
        "api.feedback": {
            "requestBody": {"required": True, **_json(_ref("FeedbackRequest"))},
            "responses": {"200": _ok(_OBJECT)},
        },
        "api.handoff": {
            "requestBody": {"required": True, **_json(_ref("HandoffRequest"))},
            "responses": {"201": _ok(_ref("Ticket"), "The ticket was created")},
        },
        "api.handoff_status": {
            "parameters": [
                ticket_id,
                {"name": "conversation_id", "in": "query", "required": True, "schema": _ID},
            ],
            "responses": {"200": _ok(_ref("Ticket"))},
        },
        "agent_api.agent_config": {"responses": {"200": _ok(_OBJECT)}},
        "agent_api.agent_search": {
            "parameters": _query_parameters(settings, agent=True),
            "responses": {"200": _ok(_ref("SearchResults"))},
        },
        "agent_api.agent_ask": {
            "requestBody": {"required": True, **_json(_ref("AgentAskRequest"))},
            "responses": {"200": answer_or_stream},
        },
        "agent_api.agent_tickets": {
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(TICKET_STATUSES)},
                }
            ],
            "responses": {"200": _ok(_OBJECT)},
        },
        "agent_api.agent_ticket": {
            "parameters": [ticket_id],
            "responses": {"200": _ok(_OBJECT)},
        },
        "agent_api.agent_claim": {
            "parameters": [ticket_id],
            "requestBody": optional_empty,
            "responses": {"200": _ok(_OBJECT)},
        },
        "agent_api.agent_reply": {
            "parameters": [ticket_id],
            "requestBody": {"required": True, **_json(_ref("ReplyRequest"))},
            "responses": {"200": _ok(_OBJECT)},
        },
        "agent_api.agent_resolve": {
            "parameters": [ticket_id],
            "requestBody": optional_empty,
            "responses": {"200": _ok(_OBJECT)},
        },
        "agent_api.agent_insights": {
            "parameters": insights_range,
            "responses": {"200": _ok(_OBJECT)},
        },
        "agent_api.agent_insights_chart": {
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": _TEXT},
                *insights_range,
                {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["en", "ko"]}},
            ],
            "responses": {
                "200": {
                    "description": "The chart as SVG",
                    "content": {"image/svg+xml": {"schema": _TEXT}},
                },
                "404": {
                    "description": "No such chart",
                    "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
                },
            },
        },
        "agent_api.agent_insights_csv": {
            "parameters": insights_range,
            "responses": {
                "200": {
                    "description": "The events as CSV, with a header row",
                    "content": {"text/csv": {"schema": _TEXT}},
                }
            },
        },
        "agent_api.agent_sources": {"responses": {"200": _ok(_OBJECT)}},
        "agent_api.agent_audit": {
            "parameters": [
                {"name": "agent", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            ],
            "responses": {"200": _ok(_OBJECT)},
        },
    }


_ERRORS = {
    "400": "Malformed request: bad JSON, an unknown field or parameter, an empty question",
    "413": f"A question or body over the limit (bodies: {MAX_BODY_BYTES} bytes)",
    "422": "A field with a value that is not allowed",
    "429": "Over a rate limit: retry after the Retry-After header's seconds",
    "503": "Not ready (no index yet), the database is away, or the LLM's queue is full "
    "(with Retry-After)",
}


def build_spec(app: Flask, settings: Settings) -> dict[str, Any]:
    """The OpenAPI document for every /api route of ``app``."""
    spec = APISpec(
        title="helpdesk HTTP API",
        version="1",
        openapi_version="3.1.0",
        info={"description": "Search and grounded answers from the help center's documents."},
    )
    for name, schema in _schemas(settings).items():
        spec.components.schema(name, schema)
    problem = {"content": {PROBLEM_JSON: {"schema": _ref("Problem")}}}
    retry = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    for status, description in _ERRORS.items():
        response = {"description": description, **problem}
        if status in ("429", "503"):
            response["headers"] = retry
        spec.components.response(f"Error{status}", response)
    spec.components.security_scheme("agentBasic", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("agentBearer", {"type": "http", "scheme": "bearer"})
    operations = _operations(settings)
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        doc = (view.__doc__ or rule.endpoint).strip()
        summary, _, description = doc.partition("\n")
        agent = rule.endpoint.startswith("agent_api.")
        operation: dict[str, Any] = {
            "operationId": rule.endpoint.replace(".", "_"),
            "summary": summary.strip(),
            "tags": ["agents" if agent else "public"],
            **operations[rule.endpoint],
        }
        if description.strip():
            operation["description"] = " ".join(description.split())
        errors = {s: {"$ref": f"#/components/responses/Error{s}"} for s in _ERRORS}
        operation["responses"] = {
            **operation["responses"],
            **errors,
            "default": {"description": "Any other error", **problem},
        }
        if agent:
            operation["security"] = [{"agentBasic": []}, {"agentBearer": []}]
            operation["responses"]["401"] = {"description": "No agent key", **problem}
            operation["responses"]["403"] = {"description": "A wrong agent key", **problem}
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = operation
    for path, methods in paths.items():
        spec.path(path=path, operations=methods)
    return spec.to_dict()


@openapi_blueprint.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of this API."""
    settings: Settings = current_app.extensions["helpdesk"].settings
    return jsonify(build_spec(current_app, settings))
