"""The formula language: a small expression syntax for computed fields and rule action values.

It sits below `engine.schema` because a formula field's definition is checked when the entity is
defined; it knows field *kinds*, never entities or tables.
"""
