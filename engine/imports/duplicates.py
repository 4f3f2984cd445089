"""Duplicates in a dry run: rows that match a live record, or an earlier row of the same file, under the
entity's warn duplicate rules (block rules already refuse them as row errors). Found by the key index."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.records.dedup.keys import key_pairs_filter, rule_key, rules_of
from engine.records.dedup.tables import dedup_keys
from engine.records.reads import scoped
from engine.schema.definition import label_text
from engine.schema.model import CompiledEntity

DUPLICATE = "possible_duplicate"  # a warning: reported, never counted as a failed row
MAX_NAMED = 5


@dataclass
class DuplicateFinder:
    """One import's duplicate check; remembers the keys of earlier rows, batch after batch."""

    entity: CompiledEntity
    access: Access
    first_row: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, key) -> first row with it

    async def flag(self, conn: AsyncConnection, rows: list[tuple[int, dict[str, object]]]) -> list[tuple[int, str, str]]:
        """(row, field of the rule, message) for each row that looks like a duplicate."""
        rules = [r for r in rules_of(self.entity) if r.action == "warn"]
        wanted = [(row, rule, key) for row, values in rows for rule in rules if (key := rule_key(rule, values)) is not None]
        if not wanted:
            return []
        holders = await self._holders(conn, {(rule.key, key) for _, rule, key in wanted})
        out: list[tuple[int, str, str]] = []
        for row, rule, key in wanted:
            name = label_text(rule.label) or rule.key
            earlier = self.first_row.setdefault((rule.key, key), row)
            if earlier != row:
                out.append((row, rule.match[0].field, f"same as row {earlier} of this file ({name})"))
            elif ids := holders.get((rule.key, key)):
                shown = ", ".join(f"#{i}" for i in ids[:MAX_NAMED])
                out.append((row, rule.match[0].field, f"possible duplicate of {shown} ({name})"))
        return out

    async def _holders(self, conn: AsyncConnection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
        k, t = dedup_keys, self.entity.table
        query = scoped(
            select(k.c.rule, k.c.key, k.c.record_id)
            .join(t, t.c.id == k.c.record_id)
            .where(key_pairs_filter(self.entity, pairs), t.c.deleted_at.is_(None))
            .order_by(k.c.record_id),
            scope(self.access, self.entity, "read"),
        )
        found: dict[tuple[str, str], list[int]] = {}
        for r in await conn.execute(query):
            found.setdefault((r.rule, r.key), []).append(r.record_id)
        return found
