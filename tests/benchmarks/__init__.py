"""Benchmarks run by `make bench` (`python -m tests.benchmarks`): a printed report, never a test.

For BENCH_ROWS records (default 100,000) on SQLite, and on PostgreSQL when one is reachable, it
measures single creates through the record service and over HTTP, bulk creates, and filtered list
latency, each beside a raw SQLAlchemy Core baseline on the same table in the same run, and prints
the cost ratio (product cost / baseline cost) against the targets of the performance issue. The
scoped-list benchmark (scoping.py) compares `own` and `team` read scopes with the unscoped read.
"""
