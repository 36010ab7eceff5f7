"""Control characters in search text (a NUL above all, which PostgreSQL refuses in any string) are left
out before the search reaches SQL: the API, the order-number search and the user search answer as if
they had not been typed, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from potrack.accounts.user_list import list_users
from potrack.common.actors import Actor
from potrack.common.validation import search_text
from potrack.db import Database
from potrack.ledger.balances import order_balances
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.writer import record_movement
from tests.api_helpers import api, token_for


@pytest.mark.parametrize(
    ('typed', 'sought'),
    [('PO-1\x00', 'PO-1'), ('\x00', ''), ('PO\x00X', 'POX'), ('\r\nPO-7\t', 'PO-7'), ('Anita\tRao', 'Anita Rao')],
)
def test_search_text_leaves_out_control_characters(typed: str, sought: str) -> None:
    assert search_text(typed) == sought


async def test_the_api_searches_orders_with_a_nul_without_failing(
    user: User, db: Database, admin: Actor, make_user, wc
) -> None:
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-1', quantity=3, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-12', quantity=4, movement_type='IN')
    client = api(user, token_for(admin, make_user('scanner')))

    async def found(path: str) -> list[str]:
        response = await client.get(path)
        assert response.status_code == 200, response.text
        return sorted(row['order_number'] for row in response.json()['rows'])

    for endpoint in ('/api/v1/movements', '/api/v1/balances'):
        assert await found(f'{endpoint}?order=%00') == ['PO-1', 'PO-12']  # nothing left to search for: all
        assert await found(f'{endpoint}?order=PO%00X') == []
        assert await found(f'{endpoint}?order=PO-1%00') == ['PO-1', 'PO-12']
        assert await found(f'{endpoint}?order=po-1%00&match=exact') == ['PO-1']
        assert await found(f'{endpoint}?order=%001%00&match=contains') == ['PO-1', 'PO-12']


def test_services_search_orders_and_users_with_control_characters(db: Database, admin: Actor, make_user, wc) -> None:
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-9', quantity=2, movement_type='IN')
    flt = MovementFilter(order='\x00PO-9\x7f', match='exact')
    assert [r.order_number for r in search_movements(admin, flt).rows] == ['PO-9']
    assert order_balances(admin, order='PO\x00-9', match='exact').total == 1
    assert order_balances(admin, order='PO\t9', match='exact').total == 0  # "PO 9": order numbers have no spaces
    make_user('anita')
    assert [u.username for u in list_users(admin, search='ani\x00').rows] == ['anita']
    assert list_users(admin, search='\x00\x01').total == list_users(admin).total
    assert list_users(admin, search='an\x00x').total == 0
