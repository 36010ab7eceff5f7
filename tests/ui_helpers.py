"""Helpers for NiceGUI `user` fixture tests: sign in as a person would."""

from __future__ import annotations

import asyncio

from nicegui import ui
from nicegui.testing import User

from potrack.pages.guard import SESSION_COOKIE


async def sign_in(user: User, username: str, password: str, next_path: str = '/') -> None:
    """Open the sign-in page, type the credentials, press Sign in and wait for the next page."""
    await user.open(f'/signin?next={next_path}')
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    user.find(marker='signin-button').click()
    await settle(user)


async def settle(user: User, rounds: int = 20) -> None:
    """Let background work (io_bound calls, navigation) finish."""
    for _ in range(rounds):
        await asyncio.sleep(0.02)


def session_cookie(user: User) -> str | None:
    return user.http_client.cookies.get(SESSION_COOKIE)


def field_error(user: User, marker: str) -> str | None:
    element = user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.element)
    return element.props.get('error-message') if element.props.get('error') else None
