"""PostgreSQL LISTEN for the change feed: one thread per app instance, reconnecting by itself.

Every instance on the same database hears every committed change (NOTIFY is sent at commit), and
hands it to its local subscribers via `feed.deliver`. After a reconnect it delivers a `resync` change:
notices sent while it was away are lost, so pages re-read what they show.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from potrack.live import feed

log = logging.getLogger(__name__)
APPLICATION_NAME = 'potrack-listener'
POLL_S = 1.0
MAX_BACKOFF_S = 5.0
# After a notice, wait this long for more before handing them over: under a burst of API writes one
# wake-up per notice cost each movement ~0.2 ms of the instance's CPU (bench/api.py); a page cannot see 20 ms.
GATHER_S = 0.02
HEARTBEAT_S = 15.0  # a quiet connection is tried this often: a half-open one must not hide every change
# TCP keepalives as a second line, for when even the heartbeat's reply never comes back.
KEEPALIVES = {'keepalives': 1, 'keepalives_idle': 30, 'keepalives_interval': 10, 'keepalives_count': 3}


class Listener:
    def __init__(self, url: str) -> None:
        u = make_url(url)
        self._dsn: dict[str, object] = {
            **{k: v for k, v in u.query.items() if isinstance(v, str)},  # e.g. sslmode, as the URL says
            **KEEPALIVES,
            'host': u.host or 'localhost',
            'port': u.port or 5432,
            'user': u.username,
            'password': u.password,
            'dbname': u.database,
            'application_name': APPLICATION_NAME,
            'connect_timeout': 5,
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.reconnects = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name='potrack-listener', daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        backoff = 0.2
        first = True
        while not self._stop.is_set():
            try:
                conn = psycopg2.connect(**{k: v for k, v in self._dsn.items() if v is not None})
            except psycopg2.Error as exc:
                log.warning('live listener cannot connect (%s); retrying in %.1f s', str(exc).strip(), backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 0.2
            try:
                conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                with conn.cursor() as cur:
                    cur.execute(f'LISTEN {feed.CHANNEL}')
                self.connected.set()
                if not first:
                    self.reconnects += 1
                    log.info('live listener reconnected; asking pages to resync')
                    feed.deliver(feed.RESYNC)
                first = False
                self._listen(conn)
            except (psycopg2.Error, OSError) as exc:
                log.warning('live listener lost its connection (%s); reconnecting', str(exc).strip())
            finally:
                self.connected.clear()
                with contextlib.suppress(psycopg2.Error):
                    conn.close()

    def _listen(self, conn: psycopg2.extensions.connection) -> None:
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            if select.select([conn], [], [], POLL_S) == ([], [], []):
                if time.monotonic() - quiet_since < HEARTBEAT_S:
                    continue
                with conn.cursor() as cur:  # raises when the server or the network has gone away
                    cur.execute('SELECT 1')  # notices arriving meanwhile land in conn.notifies, read below
            else:
                self._stop.wait(GATHER_S)
                conn.poll()
            quiet_since = time.monotonic()
            payloads = [note.payload for note in conn.notifies]
            conn.notifies.clear()
            for payload in dict.fromkeys(payloads):  # the same change twice in one batch: once, in order
                try:
                    change = feed.Change.from_json(payload)
                except (ValueError, KeyError, TypeError):
                    log.warning('ignoring a malformed change notice: %r', payload[:200])
                    continue
                feed.deliver(change)


_listener: Listener | None = None


def start(url: str) -> Listener:
    """Start this process's listener (once)."""
    global _listener
    if _listener is None:
        _listener = Listener(url)
        _listener.start()
    return _listener


def stop() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
