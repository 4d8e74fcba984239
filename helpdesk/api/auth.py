"""Who may use the agents' console and API: an agent key as the HTTP Basic password (any user
name) or as ``Authorization: Bearer KEY``. Keys come from two places:

- the named keys file (HELPDESK_AGENT_KEYS_FILE, ``helpdesk agents add NAME``): hashed at rest,
  re-read when it changes, and the agent is the key's name;
- HELPDESK_AGENT_KEYS, plain keys in the environment (the simple option): the agent is the
  Basic user name.

With neither, the console is off. The pages (web) and the JSON API both call
:func:`require_agent`.
"""

from __future__ import annotations

import hmac

from flask import current_app, g, request

from ..credentials import AgentKeys
from ..errors import Forbidden, Unauthorized

REALM = 'Basic realm="helpdesk agents", charset="UTF-8"'
KEYS_EXTENSION = "helpdesk_agent_keys"


def agent_keys() -> AgentKeys:
    """The app's named keys (see helpdesk.app)."""
    keys: AgentKeys = current_app.extensions[KEYS_EXTENSION]
    return keys


def require_agent() -> None:
    """Raise 401 without a credential, 403 with a wrong one or when the console is off."""
    plain = current_app.extensions["helpdesk"].settings.agent_credentials
    named = agent_keys()
    if not plain and not named:
        raise Forbidden(
            "the agents' console is off: set HELPDESK_AGENT_KEYS or run `helpdesk agents add "
            "NAME` to turn it on",
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
    # Every plain key is compared, in constant time, whether or not one matched.
    plain_match = False
    for key in plain:
        plain_match |= hmac.compare_digest(given.encode(), key.encode())
    if plain_match:
        basic = (auth.username or "").strip() if auth is not None and auth.type == "basic" else ""
        g.helpdesk_agent = basic[:64] or "agent"
        return
    name = named.lookup(given)
    if name is None:
        raise Forbidden("that agent key is not valid", code="bad_credential")
    g.helpdesk_agent = name


def agent_name() -> str:
    """Who the signed-in agent is: the named key's name; for a plain key, the HTTP Basic user
    name, or "agent" for a Bearer key."""
    name: str = g.get("helpdesk_agent", "agent")
    return name
