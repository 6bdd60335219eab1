"""Launching stages and following submissions (SPEC §4, §8.1): pages and the API."""
