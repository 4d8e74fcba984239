"""Rate limits (flask-limiter): per client IP on the public API, per agent key on the agents'.

Three limits, each a setting: HELPDESK_RATE_LIMIT for the public API, HELPDESK_RATE_LIMIT_ASK
for questions (stricter: each may hold the model for seconds) and HELPDESK_RATE_LIMIT_AGENT for
the agents' API. The counters live in HELPDESK_RATE_LIMIT_STORAGE: this process's memory, or a
Redis server that several ``helpdesk serve`` processes share. A client over a limit gets 429
problem+json with Retry-After (see :mod:`.problems`).

The client IP is the connection's peer: X-Forwarded-For counts only through
HELPDESK_TRUSTED_PROXIES (werkzeug's ProxyFix, set up in :func:`helpdesk.app.create_app`).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter

from ..config import Settings
from .auth import KEYS_EXTENSION

# Endpoints whose requests count against the stricter limit for questions.
ASK_ENDPOINTS = frozenset({"api.ask", "api.ask_stream"})


def client_ip() -> str:
    """The client's address (a trusted proxy's X-Forwarded-For has already been applied)."""
    return request.remote_addr or "unknown"


def agent_key(settings: Settings) -> str:
    """Whose agents' requests these are: a valid agent key (hashed, never stored as given),
    else the client IP, so guessing keys spends the guesser's own budget."""
    auth = request.authorization
    given = ""
    if auth is not None:
        given = (auth.token if auth.type == "bearer" else auth.password) or ""
    for key in settings.agent_credentials:
        if given and hmac.compare_digest(given.encode(), key.encode()):
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    # A named key counts against its name once it has signed in (its first request, checked
    # by scrypt after this, counts against the IP).
    named = current_app.extensions.get(KEYS_EXTENSION)
    name = named.known(given) if given and named is not None else None
    if name is not None:
        return "name:" + name
    return "ip:" + client_ip()


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """A limiter for this app, with its limits on the API's endpoints (pages are not limited)."""
    limiter = Limiter(
        key_func=client_ip,
        app=app,
        storage_uri=settings.rate_limit_storage,
        strategy="fixed-window",
        headers_enabled=True,
        # The check runs before the view; a storage that is away must not take the API down.
        swallow_errors=True,
        key_prefix="helpdesk",
    )
    for endpoint, view in list(app.view_functions.items()):
        rule = next(app.url_map.iter_rules(endpoint))
        if not rule.rule.startswith("/api/") or endpoint.startswith("agent_api."):
            continue
        limit, scope = (
            (settings.rate_limit_ask, "ask")
            if endpoint in ASK_ENDPOINTS
            else (settings.rate_limit, "public")
        )
        if limit:
            limited: Any = limiter.shared_limit(limit, scope=scope)(view)
            app.view_functions[endpoint] = limited
    if settings.rate_limit_agent:
        from .routes import agent_api

        # On the blueprint: checked before the credential is, so key guessing is limited too.
        limiter.shared_limit(
            settings.rate_limit_agent, scope="agent", key_func=lambda: agent_key(settings)
        )(agent_api)
    return limiter
