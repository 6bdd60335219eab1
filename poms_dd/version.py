"""The package version (one place: the API description, the CLI and the packaging read it)."""
__version__ = "0.1.0"
