"""The append-only audit trail: who changed what, when, from where; sign-ins and rights changes."""
