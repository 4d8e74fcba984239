"""The JSON API: request parsing (:mod:`.requests`), response shapes (:mod:`.responses`),
problem+json errors (:mod:`.problems`), the agents' credential (:mod:`.auth`) and the
endpoints (:mod:`.routes`). The app that serves them is built by :func:`helpdesk.app.create_app`.
"""
