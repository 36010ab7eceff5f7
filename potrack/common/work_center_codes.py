"""Work center codes to ids, for callers that name work centers by code (the REST API, scripts).

Only the mapping is answered here; whether the actor may use or see a work center is decided by the
service that is called with its id (the ledger, the searches). The mapping is cached per process and
dropped whenever master data changes (the live feed reaches every instance), and after CACHE_TTL_S
at the latest, so a POST does not pay a database round trip just to translate WC001.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select

from potrack.common.validation import shown
from potrack.db.engine import Database, database
from potrack.db.models import WorkCenter
from potrack.errors import NotFound
from potrack.live.cache import LiveCache

CACHE_TTL_S = 30.0
_cache: LiveCache[str, dict[str, int]] = LiveCache(frozenset({'masters'}), CACHE_TTL_S)


def _codes(db: Database) -> dict[str, int]:
    ids = _cache.get(db, 'all')
    if ids is None:
        with db.read() as session:
            ids = {code: wc_id for code, wc_id in session.exec(select(WorkCenter.code, WorkCenter.id)).all() if wc_id}
        _cache.put(db, 'all', ids)
    return ids


def work_center_ids(codes: Iterable[str], *, db: Database | None = None) -> list[int]:
    """The ids of work centers by code (any case), in the order given. Raises NotFound for an unknown code."""
    db = db or database()
    wanted = [c.strip().upper() for c in codes if isinstance(c, str)]
    ids = _codes(db)
    missing = [c for c in wanted if c not in ids]
    if missing:
        _cache.clear()  # created a moment ago on another instance? read again once before refusing
        ids = _codes(db)
        missing = [c for c in wanted if c not in ids]
    if missing:
        raise NotFound(f'There is no work center with the code "{shown(missing[0])}".', field='work_center')
    return [ids[c] for c in wanted]


def all_work_center_ids(db: Database | None = None) -> frozenset[int]:
    """The ids of every work center (from the same cache; possibly a moment old, never missing an old one)."""
    return frozenset(_codes(db or database()).values())


def forget() -> None:
    """Drop the cached mapping (tests that change work centers behind the services' back)."""
    _cache.clear()
