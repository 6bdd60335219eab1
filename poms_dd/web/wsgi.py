"""WSGI entry point for gunicorn: ``gunicorn -c config/gunicorn.conf.py poms_dd.web.wsgi:app``.

Settings come from the POMS_DD_* environment (see config/poms_dd.env.example).
"""
from .app import create_app

app = create_app()
