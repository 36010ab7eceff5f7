"""The one change feed: after a commit, the ledger announces which (work center, order) changed.

With PostgreSQL the announcement is a NOTIFY sent inside the writing transaction (delivered only
if it commits) and every app instance's listener hands it to its local subscribers. With SQLite it
stays in this process and is handed over right after the commit. Subscribers are plain callables;
the pages adapt them to NiceGUI. No nicegui import here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session

log = logging.getLogger(__name__)
CHANNEL = 'potrack_changes'


@dataclass(frozen=True)
class Change:
    work_center_id: int
    order_number: str
    # 'movement'; 'masters' (work centers / departments changed); 'users' (accounts changed);
    # 'corrections' (a movement was reversed; also announced as its 'movement'); 'resync' (re-read all);
    # TRANSIT: the pieces on their way to `work_center_id` changed (sent there, received there, or undone)
    kind: str = 'movement'
    # A movement's notice only: the work center whose incoming pieces it changed (transit); `deliver` hands
    # that on as its own TRANSIT change. One notice per movement: each NOTIFY costs at commit.
    arrival: int | None = None

    def to_json(self) -> str:
        # Spelled out: dataclasses.asdict deep-copies and cost more than the rest of a movement's notice.
        data: dict[str, object] = {
            'work_center_id': self.work_center_id,
            'order_number': self.order_number,
            'kind': self.kind,
        }
        if self.arrival is not None:
            data['arrival'] = self.arrival
        return json.dumps(data, separators=(',', ':'))

    @classmethod
    def from_json(cls, payload: str) -> Change:
        data = json.loads(payload)
        arrival = data.get('arrival')
        return cls(
            int(data['work_center_id']),
            str(data['order_number']),
            str(data.get('kind', 'movement')),
            None if arrival is None else int(arrival),
        )


TRANSIT = 'transit'
RESYNC = Change(0, '', 'resync')
Subscriber = Callable[[Change], None]
_subscribers: list[Subscriber] = []
_lock = threading.Lock()


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """Call `callback(change)` for every change; returns the function that unsubscribes."""
    with _lock:
        _subscribers.append(callback)

    def unsubscribe() -> None:
        with _lock:
            if callback in _subscribers:
                _subscribers.remove(callback)

    return unsubscribe


def deliver(change: Change) -> None:
    """Hand `change` to every local subscriber (and its arrival, as a TRANSIT change of the work center the
    pieces go to); one failing subscriber does not stop the rest."""
    with _lock:
        targets = list(_subscribers)
    changes = [change]
    if change.arrival is not None:
        changes.append(Change(change.arrival, change.order_number, TRANSIT))
    for each in changes:
        for callback in targets:
            try:
                callback(each)
            except Exception:
                log.exception('live subscriber failed for %s', each)


NOTIFY = text('SELECT pg_notify(:channel, :payload)')


def notify_in_transaction(session: Session, change: Change) -> None:
    """PostgreSQL: queue a NOTIFY in the current transaction; it is sent only if the transaction commits."""
    session.connection().execute(NOTIFY, {'channel': CHANNEL, 'payload': change.to_json()})
