"""Thin blueprints: parse the request, call a service, render or return JSON."""
from __future__ import annotations

from flask import Flask


def register_views(app: Flask) -> None:
    from . import errors
    errors.register(app)
