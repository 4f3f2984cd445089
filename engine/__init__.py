"""Tangram: a metadata-driven no-code app-builder engine."""

__version__ = "0.1.0"
