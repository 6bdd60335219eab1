"""``draining``: each launch is a parameter launch with the whole stage query; the job drains it."""
from __future__ import annotations

from .base import NoParams


class Draining(NoParams):
    kind = "draining"
    syntax = "draining"
    parameter_launch = True
    description = "Each launch is a parameter launch with the whole query; the job drains it."
