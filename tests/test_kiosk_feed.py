"""Kiosks at one work center share the read of its last entries (potrack.pages.kiosk.recent.RecentFeed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.writer import record_movement
from potrack.pages.kiosk import recent
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, eventually_equal, handled, see, sign_in


def recent_orders(user: User) -> list[str]:
    element = user.find(marker='recent-table').elements.pop()
    assert isinstance(element, ui.table)
    return [str(r['order']) for r in element.rows]


async def kiosk_at(user: User, make_user: Callable[..., Actor], name: str, code: str = 'WC002') -> Actor:
    actor = make_user(name, 'Production')
    await sign_in(user, name, TEST_PASSWORD)
    await see(user, marker='wc-cards')
    async with handled():
        user.find(marker=f'wc-{code}').click()
    return actor


def feeds_idle() -> bool:
    """No shared read running or queued: the count of reads is final."""
    return not any(feed.running for feed in recent.RecentFeed.feeds.values())


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the reads of the last entries (one per call of the service from the kiosk panels)."""
    calls: list[int] = []
    original = recent.search_movements

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(recent, 'search_movements', counted)
    return calls


async def test_one_change_is_read_once_or_twice_for_three_kiosks(
    create_user: Callable[[], User], sqlite_db: Database, make_user, wc, reads: list[int]
) -> None:
    kiosks = [create_user() for _ in range(3)]
    for i, user in enumerate(kiosks):
        await kiosk_at(user, make_user, f'op{i}')
    reads.clear()
    record_movement(make_user('other'), work_center_id=wc('WC002'), order_number='PO-9', quantity=3, movement_type='IN')
    await eventually_equal(lambda: [recent_orders(user) for user in kiosks], [['PO-9']] * 3)
    await eventually(feeds_idle, what='the shared reads to finish')
    assert 1 <= len(reads) <= 2  # one read, plus at most one for notices that came after it started


async def test_kiosks_at_another_work_center_are_not_read_for(
    create_user: Callable[[], User], sqlite_db: Database, make_user, wc, reads: list[int]
) -> None:
    here, elsewhere = create_user(), create_user()
    await kiosk_at(here, make_user, 'here', 'WC002')
    await kiosk_at(elsewhere, make_user, 'elsewhere', 'WC003')
    reads.clear()
    record_movement(make_user('other'), work_center_id=wc('WC002'), order_number='PO-5', quantity=1, movement_type='IN')
    # Announced after it, a change the other kiosk does show: once it is there, the first notice was heard too.
    record_movement(make_user('more'), work_center_id=wc('WC003'), order_number='PO-6', quantity=1, movement_type='IN')
    await eventually_equal(lambda: (recent_orders(here), recent_orders(elsewhere)), (['PO-5'], ['PO-6']))
    await eventually(feeds_idle, what='the shared reads to finish')
    assert len(reads) == 2  # one for each work center: the kiosk at WC003 was not read for PO-5
