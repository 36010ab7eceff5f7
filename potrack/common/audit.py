"""Writing the audit trail: called inside the transaction of the change it describes."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from potrack.db.models import AuditEvent


def dump_json(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, default=str, sort_keys=True, ensure_ascii=False)


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one audit event to the current transaction."""
    session.add(
        AuditEvent(
            actor_id=actor_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=dump_json(before),
            after=dump_json(after),
        )
    )


def record_changes(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Add one audit event holding only the fields that changed; none when nothing did (a save without edits)."""
    changed = [key for key in after if after[key] != before.get(key)]
    if changed:
        record(
            session,
            actor_id=actor_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before={k: before.get(k) for k in changed},
            after={k: after[k] for k in changed},
        )
