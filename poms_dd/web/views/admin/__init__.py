"""Onboarding pages and API (SPEC §7): experiments, connection tests, tokens, members."""
