"""Duplicate rules (options.duplicates of an entity), the match keys that make them SQL lookups, and merge."""
