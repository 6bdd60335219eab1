"""Use cases, one sub-package per area, built by one factory (:class:`poms_dd.services.factory.Services`).

Services never import the web stack: the worker and the CLI run them without a Flask app.  Each public method
checks permissions (``scope.py``, ``poms_dd.permissions``), owns its transaction and records audit events.
"""
