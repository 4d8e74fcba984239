"""Who may use the agents' console and API: HTTP Basic (any user name, an agent key as the
password) or ``Authorization: Bearer KEY``, against HELPDESK_AGENT_KEYS. With no keys configured
the console is off. The pages (web) and the JSON API both call :func:`require_agent`.
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from ..errors import Forbidden, Unauthorized

REALM = 'Basic realm="helpdesk agents", charset="UTF-8"'


def require_agent() -> None:
    """Raise 401 without a credential, 403 with a wrong one or when the console is off."""
    keys = current_app.extensions["helpdesk"].settings.agent_credentials
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


def agent_name() -> str:
    """Who the signed-in agent is: the HTTP Basic user name, or "agent" for a Bearer key."""
    auth = request.authorization
    name = (auth.username or "").strip() if auth is not None and auth.type == "basic" else ""
    return name[:64] or "agent"
