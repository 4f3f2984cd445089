"""The operator vocabulary of conditions: which operators apply to which field kinds, which take a
value and of what shape, and which field kinds may be compared with each other."""

from __future__ import annotations

TEXTUAL = frozenset({"text", "long_text", "email", "phone", "url", "auto_number"})
NUMERIC = frozenset({"integer", "decimal", "currency", "percent"})
TEMPORAL = frozenset({"date", "datetime"})

EQUALITY = frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"})
ORDER = frozenset({"gt", "gte", "lt", "lte", "between"})
TEXT_MATCH = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
SET_MATCH = frozenset({"has_any", "has_all"})
CHANGES = frozenset({"changed", "changed_from", "changed_to"})
SPANS = frozenset({"older_than", "within_last", "within_next"})
PERIODS = frozenset(f"{when}_{unit}" for when in ("this", "last", "next") for unit in ("week", "month", "quarter", "year"))
DAYS = frozenset({"is_today"}) | PERIODS  # a window of whole days, read in Env.tz
ANNIVERSARY = "anniversary_today"
RELATIVE = SPANS | DAYS | {ANNIVERSARY}

OPS_BY_TYPE: dict[str, frozenset[str]] = {
    **{t: EQUALITY | TEXT_MATCH | CHANGES for t in TEXTUAL},
    **{t: EQUALITY | ORDER | CHANGES for t in NUMERIC},
    "date": EQUALITY | ORDER | RELATIVE | CHANGES,
    "datetime": EQUALITY | ORDER | SPANS | DAYS | CHANGES,
    **{t: EQUALITY | CHANGES for t in ("select", "boolean", "relation", "user")},
    "team": EQUALITY,  # only reached through a path, where changes are not known
    "multi_select": frozenset({"is_empty", "is_not_empty"}) | SET_MATCH | CHANGES,
    "json": frozenset({"is_empty", "is_not_empty", "changed"}),
    "attachment": frozenset({"is_empty", "is_not_empty", "changed"}),  # a stage gate: "the report is attached"
}
# Kinds stored as a JSON list: the empty list counts as empty.
LISTS = frozenset({"multi_select", "attachment"})

NO_VALUE = frozenset({"is_empty", "is_not_empty", "changed", ANNIVERSARY}) | DAYS
LIST_VALUE = frozenset({"in", "not_in"})
# Operators whose value may be another field or a variable instead of a literal.
OPERAND_OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
# Each negative operator is the exact complement of a positive one, on both back ends.
NEGATIONS = {"ne": "eq", "not_in": "in", "not_contains": "contains", "is_not_empty": "is_empty"}

UNITS = ("minutes", "hours", "days", "weeks", "months")
CLOCK_UNITS = frozenset({"minutes", "hours"})  # datetime fields only
MAX_AMOUNT = 10_000

# Variables: name -> the field kinds they compare with.
VARIABLES = {
    "now": frozenset({"datetime"}),
    "today": frozenset({"date"}),
    "user": frozenset({"user"}),
    "user.team": frozenset({"team"}),
}


def family(kind: str) -> str:
    """Kinds in one family compare with each other (an integer with a currency, email with text)."""
    if kind in NUMERIC:
        return "number"
    if kind in TEXTUAL:
        return "text"
    return kind
