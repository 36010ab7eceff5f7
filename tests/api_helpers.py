"""Helpers for the REST API tests: tokens for users, and an HTTP client over the app in this process."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from nicegui.testing import User

from potrack.accounts.tokens import issue_token
from potrack.common.actors import Actor


def token_for(admin: Actor, actor: Actor, name: str = 'line scanner') -> str:
    return issue_token(admin, user_id=actor.user_id, name=name).token


def bearer(token: str) -> dict[str, str]:
    return {'Authorization': f'Bearer {token}'}


def api(user: User, token: str) -> httpx.AsyncClient:
    """The app's own in-process client with the token set (no server; the app runs in this test)."""
    client = user.http_client
    client.headers.update(bearer(token))
    return client


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {'error'}, body
    return response.status_code, body['error']['code'], body['error']['message']


MakeUser = Callable[..., Actor]
