"""Rules: condition-action automation on record events, schedules and dates (see docs/user-guide/rules.md)."""
