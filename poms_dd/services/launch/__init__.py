"""Launching stages (SPEC §4)."""
