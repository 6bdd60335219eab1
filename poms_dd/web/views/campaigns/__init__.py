"""Campaign configuration pages, JSON API and INI files (SPEC §2)."""
