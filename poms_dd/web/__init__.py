"""The Flask side: app wiring (``app.py``), per-request plumbing (``request.py``), sign-in (``auth.py``), the
error handler (``errors.py``), forms and the views per area (``views/``: pages and ``/api`` side by side).
Views reach services only through :func:`poms_dd.web.request.services`."""
