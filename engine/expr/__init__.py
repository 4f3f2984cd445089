"""The one condition language: JSON condition trees parsed into one AST (`condition`), compiled to
a Python predicate (`to_python`) and to a SQLAlchemy clause (`to_sql`) that agree, NULLs included."""
