"""Security events as one parseable `key=value` line each, on the `potrack.auth` logger (stdout)."""

from __future__ import annotations

import logging

log = logging.getLogger('potrack.auth')


def _quote(value: object) -> str:
    text = str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', ' ').replace('\r', ' ')
    return f'"{text}"' if (not text or any(c in text for c in ' ="')) else text


def auth_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log `event=<event> user=... source=...`; values are quoted when they hold spaces or quotes."""
    parts = [f'event={event}'] + [f'{k}={_quote(v)}' for k, v in fields.items() if v is not None]
    log.log(level, ' '.join(parts))
