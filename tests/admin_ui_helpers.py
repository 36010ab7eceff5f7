"""Helpers for the admin console's `user` fixture tests: open a tab, choose a row, fill a dialog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.testing import User

from potrack.common.actors import Actor
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually, eventually_equal, field_error, handled, see, sign_in

__all__ = ['eventually', 'eventually_equal', 'field_error', 'handled', 'see']


async def open_admin(user: User, make_user: Callable[..., Actor], tab: str = 'users', *, name: str = 'boss') -> Actor:
    """Sign in as another admin (the provisioned one must first change its password) and open a tab."""
    boss = make_user(name, 'Management', is_admin=True)
    await sign_in(user, name, TEST_PASSWORD, next_path='/admin')
    await see(user, marker='users-table')
    if tab != 'users':
        await click(user, f'tab-{tab}')
    return boss


def element(user: User, marker: str) -> Any:
    found = user.find(marker=marker).elements
    assert len(found) == 1, f'{len(found)} elements marked {marker}'
    return next(iter(found))


def rows(user: User, marker: str) -> list[dict[str, Any]]:
    table = element(user, marker)
    assert isinstance(table, ui.table)
    return table.rows


def column(user: User, marker: str, name: str) -> list[Any]:
    return [row[name] for row in rows(user, marker)]


def row_where(user: User, marker: str, **match: Any) -> dict[str, Any]:
    return next(r for r in rows(user, marker) if all(r[k] == v for k, v in match.items()))


async def choose(user: User, marker: str, **match: Any) -> dict[str, Any]:
    """Tap the table row whose fields match, as a person choosing it before pressing an action."""
    row = row_where(user, marker, **match)
    async with handled():
        user.find(marker=marker).trigger('rowClick', [{}, row, 0])
    return row


async def click(user: User, marker: str) -> None:
    """Press a button (or a tab) and wait until what it started is done: a dialog open, a save answered."""
    async with handled():
        user.find(marker=marker).click()


def fill(user: User, **fields: Any) -> None:
    """Type into inputs (strings) or set selects / checkboxes (other values), by marker.

    A field whose change reloads something (a filter) is filled inside `async with handled():`."""
    for marker, value in fields.items():
        target = element(user, marker.replace('_', '-'))
        if isinstance(target, ui.input) and isinstance(value, str):
            user.find(marker=marker.replace('_', '-')).clear().type(value)
        else:
            target.value = value


def text(user: User, marker: str) -> str:
    return element(user, marker).text


def enabled(user: User, marker: str) -> bool:
    return element(user, marker).enabled


def present(user: User, marker: str) -> bool:
    try:
        user.find(marker=marker)
    except AssertionError:
        return False
    return True
