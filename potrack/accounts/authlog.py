"""Security events as one parseable `key=value` line each, on the `potrack.auth` logger (stdout).

A user is named by id (and stored user name), never by what was typed: a person who types their
password into the user-name field would otherwise find it in the log in clear. A typed name that
matches no user is logged as `user="unknown user"` with `name_hmac`, a truncated HMAC of it keyed
with the session secret. Repeated attempts with the same name share a tag, so probing one name (or
one person mistyping theirs) stays visible; without the secret the tag cannot be checked against a
dictionary, and 32 bits leave many candidates per tag even with it. Its length was the other choice:
it tells nothing useful about probing and still narrows the guess of a password.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from potrack.config import settings

log = logging.getLogger('potrack.auth')
UNKNOWN_USER = 'unknown user'
NAME_HMAC_HEX = 8  # 32 bits: enough to tell a day's typed names apart, too few to confirm a guess
_NAME_HMAC_CONTEXT = b'potrack auth log: typed user name\x00'  # keeps this use of the secret apart from cookies


def _quote(value: object) -> str:
    text = str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', ' ').replace('\r', ' ')
    return f'"{text}"' if (not text or any(c in text for c in ' ="')) else text


def auth_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log `event=<event> user_id=... user=... source=...`; values are quoted when they hold spaces or quotes.

    Name a user with `**known(...)` or `**unknown(...)`, never with a typed name.
    """
    parts = [f'event={event}'] + [f'{k}={_quote(v)}' for k, v in fields.items() if v is not None]
    log.log(level, ' '.join(parts))


def known(user_id: int | None, username: str) -> dict[str, object]:
    """The fields naming an existing user: their id and their stored user name."""
    return {'user_id': user_id, 'user': username}


def unknown(typed: str) -> dict[str, object]:
    """The fields for a typed name that matches no user: never the name, only its keyed tag."""
    return {'user': UNKNOWN_USER, 'name_hmac': name_hmac(typed)}


def name_hmac(typed: str) -> str:
    """A short HMAC-SHA256 of `typed`, keyed with the session secret (see the module docstring)."""
    key = settings().session_secret.encode()
    digest = hmac.new(key, _NAME_HMAC_CONTEXT + typed.encode('utf-8', 'replace'), hashlib.sha256)
    return digest.hexdigest()[:NAME_HMAC_HEX]
