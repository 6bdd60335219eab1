"""Campaign configuration (SPEC §2, §3): campaigns and stages, their dependencies, cloning, the field rules
and campaign keywords."""
