"""Campaign INI files (SPEC §2.13): the POMS-compatible format, its schema, the import plan and the
import/export service."""
