"""Importing records from CSV and XLSX files: mapping, coercion, relation lookup, upsert, dry runs,
per-row error reports, progress as a durable job."""
