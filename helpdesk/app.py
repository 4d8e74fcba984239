"""The Flask app: one factory that registers every blueprint (the JSON API, the agents' API and
the pages), the cross-origin policy, the rate limits, the security headers, the OpenAPI
description (/openapi.json) and the problem+json error handlers.
"""

from __future__ import annotations

import re

from flask import Flask, Response, request

from .api.problems import MAX_BODY_BYTES, problem_response, register_error_handlers
from .config import Settings
from .errors import problem_body
from .service import Helpdesk

EXTENSION = "helpdesk"
# What other sites' pages may call (the widget's endpoints); everything else is same-origin.
PUBLIC_API = r"/api/(search|ask|ask/stream|feedback|config|handoff(/[A-Za-z0-9_-]+)?)"


def create_app(settings: Settings | None = None, helpdesk: Helpdesk | None = None) -> Flask:
    """The Flask app factory. Nothing heavy is built here: models load on first use."""
    from flask_cors import CORS
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .api.auth import KEYS_EXTENSION
    from .api.headers import init_security_headers
    from .api.insights import agent_api as _with_insights  # noqa: F401 (adds its routes)
    from .api.openapi import openapi_blueprint
    from .api.ratelimits import init_rate_limits
    from .api.routes import agent_api, api
    from .api.sources import agent_api as _with_sources  # noqa: F401 (adds its route)
    from .credentials import AgentKeys
    from .experiments import VARIANTS_EXTENSION, Variants
    from .web import web

    settings = settings or (helpdesk.settings if helpdesk else Settings.from_env())
    # The front ends' files are served by the web blueprint; the app itself has no static folder.
    app = Flask("helpdesk", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = helpdesk = helpdesk or Helpdesk(settings)
    # The experiment's variants (HELPDESK_EXPERIMENT), each visitor served by one of them.
    app.extensions[VARIANTS_EXTENSION] = Variants.from_settings(helpdesk)
    app.extensions[KEYS_EXTENSION] = AgentKeys(settings.agent_keys_path)
    app.register_blueprint(api)
    app.register_blueprint(agent_api)
    app.register_blueprint(web)
    app.register_blueprint(openapi_blueprint)
    if settings.trusted_proxies:
        # Only then do X-Forwarded-For/-Proto say who the client is and whether it used https.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    allowed = settings.allowed_origins
    # The widget's calls from the sites in the allow-list; never "*", never with credentials.
    CORS(
        app,
        resources={PUBLIC_API: {"origins": list(allowed)}},
        supports_credentials=False,
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Accept", "X-Helpdesk-Visitor"],
        max_age=600,
    )

    @app.before_request
    def _refuse_other_sites() -> Response | None:
        """A page from a site not in HELPDESK_CORS_ORIGINS gets nothing, not even a run of the
        request (the browser would hide the answer, but the work and the side effects would
        happen). The agents' API accepts its own origin only."""
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith("/api/"):
            return None
        own = request.host_url.rstrip("/")
        if origin == own:
            return None
        public = re.fullmatch(PUBLIC_API, request.path) is not None
        if public and origin in allowed:
            return None
        detail = f"pages from {origin} may not call this API"
        if public:
            detail += " (add the site to HELPDESK_CORS_ORIGINS to allow it)"
        return problem_response(problem_body(403, "Forbidden", detail, "origin_not_allowed"))

    init_rate_limits(app, settings)
    init_security_headers(app, settings)
    register_error_handlers(app)
    return app
