"""Why a database did not answer, in one line a person reads: the driver's reason without its preamble."""

from __future__ import annotations

import re

# psycopg2 says 'connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "x" does not exist'.
_CONNECTION_PREAMBLE = re.compile(r'^connection to server (?:at|on) .*? failed: ')
_SEVERITY = re.compile(r'^(?:FATAL|ERROR):\s+')


def driver_reason(error: BaseException | None) -> str:
    """The driver's reason in one line ('database "x" does not exist'), without the preamble around it.

    The host and port are left out: the caller prints the URL beside the reason.
    """
    lines: list[str] = []
    for raw in str(error or '').splitlines():
        line = _SEVERITY.sub('', _CONNECTION_PREAMBLE.sub('', raw.strip()))
        # localhost tried over IPv6 and IPv4 fails twice the same way
        if line and line.lower() not in (seen.lower() for seen in lines):
            lines.append(line if not lines or not line[:2].istitle() else line[0].lower() + line[1:])
    return '; '.join(lines) or 'no reason given'
