"""Drive potrack pages over the real HTTP + socket.io path, the way a browser does, for benchmarks.

What a browser does with a NiceGUI page, and what `Page` does the same way:
1. GET the page (cookies kept in an httpx jar). The HTML carries the element tree as JSON inside
   ``parseElements(String.raw`...`)`` (HTML-escaped: & < > ` $) and the socket query
   ``{'client_id': ..., 'next_message_id': 0, 'implicit_handshake': True}``.
2. Connect socket.io at ``/_nicegui_ws/socket.io`` (websocket transport) with that query plus
   ``document_id`` and ``tab_id`` in the URL; with ``implicit_handshake=true`` the server's connect
   handler does the handshake (no separate 'handshake' emit).
3. User actions are ``event`` messages ``{id, client_id, listener_id, args}``: ``args`` is a list of
   JSON strings. A click sends ``[]`` (its listener declares ``args=[]``); an input's value change is the
   listener of type ``update:value`` (``update:<VALUE_PROP>``) with ``[json.dumps(value)]``; a keydown
   listener (``args=None``) gets the whole event object, e.g. ``[json.dumps({'key': 'Enter'})]``.
4. The server pushes ``update`` ``{element_id: element dict | None, '_id': n}``, ``open`` ``{path, new_tab}``
   (ui.navigate.to), ``run_javascript`` ``{code[, request_id]}`` and ``notify``. Inputs have
   ``loopback=False``: setting a value from the client gets no echo, a value set by the server does.
5. The browser acks ``{client_id, next_message_id}`` every 3 s so the server can prune its resend history.

Also here: starting and stopping `potrack serve` on a free port, scratch PostgreSQL databases, RSS,
users created through potrack's own API, and percentiles. Bench-only dependencies: python-socketio
(asyncio client) and aiohttp (its websocket transport), httpx, psycopg2.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import socketio

T = TypeVar('T')
HOST = '127.0.0.1'
SOCKET_PATH = '/_nicegui_ws/socket.io'
SESSION_COOKIE = 'potrack_session'
PG_ADMIN_DSN = f'host={HOST} port=5432 user=postgres dbname=postgres'
PG_DB_PREFIX = 'potrack_bench_ui_'
ELEMENTS_RE = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
QUERY_RE = re.compile(r'query: (\{.*?\}),\n')
HTML_UNESCAPE = (('&#36;', '$'), ('&#96;', '`'), ('&gt;', '>'), ('&lt;', '<'), ('&amp;', '&'))
ACK_EVERY_S = 3.0


class UiError(Exception):
    """The page did not look or answer as expected."""


# --- the page protocol -------------------------------------------------------------------------------------


def parse_page(html: str) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The element tree and the socket query NiceGUI embeds in a page's HTML."""
    match = ELEMENTS_RE.search(html)
    query = QUERY_RE.search(html)
    if match is None or query is None:
        raise UiError('not a NiceGUI page (no element tree or socket query in the HTML)')
    raw = match.group(1)
    for escaped, plain in HTML_UNESCAPE:
        raw = raw.replace(escaped, plain)
    elements = {int(k): v for k, v in json.loads(raw).items()}
    # The query is a Python dict literal rendered into JavaScript (True/False/None are defined there).
    query_text = query.group(1).replace("'", '"').replace('True', 'true').replace('False', 'false')
    return elements, json.loads(query_text.replace('None', 'null'))


@dataclass
class Waiter:
    predicate: Callable[[], Any]
    future: asyncio.Future[tuple[Any, float]]


@dataclass
class Page:
    """One open page of one simulated browser tab: its element tree kept in step with the server."""

    http: httpx.AsyncClient
    path: str
    client_id: str = ''
    elements: dict[int, dict[str, Any]] = field(default_factory=dict)
    navigations: list[str] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)
    messages_received: int = 0
    _sio: socketio.AsyncClient | None = None
    _waiters: list[Waiter] = field(default_factory=list)
    _next_message_id: int = 0
    _acked: int = -1
    _ack_task: asyncio.Task[None] | None = None
    _closed: bool = False

    # opening and closing

    @classmethod
    async def open(cls, http: httpx.AsyncClient, path: str, *, timeout: float = 15.0) -> Page:
        """GET `path` (no redirects followed: a redirect raises UiError) and connect its socket."""
        page = cls(http, path)
        response = await http.get(path, timeout=timeout)
        if response.status_code != 200:
            where = response.headers.get('location', '')
            raise UiError(f'GET {path}: HTTP {response.status_code} {where}'.strip())
        page.elements, query = parse_page(response.text)
        page.client_id = str(query['client_id'])
        page._next_message_id = int(query.get('next_message_id', 0))
        await page._connect(query, timeout)
        return page

    async def _connect(self, query: dict[str, Any], timeout: float) -> None:
        sio = socketio.AsyncClient(reconnection=False, request_timeout=timeout)
        self._sio = sio
        sio.on('update', self._on_update)
        sio.on('open', self._on_open)
        sio.on('run_javascript', self._on_run_javascript)
        sio.on('notify', self._on_notify)
        sio.on('disconnect', self._on_disconnect)
        params = {
            'client_id': self.client_id,
            'next_message_id': str(self._next_message_id),
            'implicit_handshake': 'true' if query.get('implicit_handshake') else 'false',
            'document_id': str(uuid.uuid4()),
            'tab_id': str(uuid.uuid4()),
        }
        base = str(self.http.base_url).rstrip('/')
        cookies = '; '.join(f'{c.name}={c.value}' for c in self.http.cookies.jar)
        await sio.connect(
            f'{base}/?{httpx.QueryParams(params)}',
            socketio_path=SOCKET_PATH,
            transports=['websocket'],
            headers={'Cookie': cookies} if cookies else {},
            wait_timeout=timeout,
        )
        if not query.get('implicit_handshake'):
            ok = await sio.call('handshake', params, timeout=timeout)
            if not ok:
                raise UiError(f'handshake refused for {self.path}')
        self._ack_task = asyncio.create_task(self._ack_loop())

    async def close(self) -> None:
        """Close the tab: disconnect the socket (the server keeps the page for its reconnect_timeout)."""
        if self._closed:
            return
        self._closed = True
        if self._ack_task:
            self._ack_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ack_task
        if self._sio is not None:
            await self._sio.disconnect()
        self._fail_waiters(UiError('page closed'))

    async def _ack_loop(self) -> None:
        while not self._closed and self._sio is not None:
            await asyncio.sleep(ACK_EVERY_S)
            if self._acked < self._next_message_id and self._sio.connected:
                await self._sio.emit('ack', {'client_id': self.client_id, 'next_message_id': self._next_message_id})
                self._acked = self._next_message_id

    # messages from the server

    def _take_id(self, msg: dict[str, Any]) -> bool:
        """Drop replays the way the browser does; False when the message was already seen."""
        self.messages_received += 1
        message_id = msg.pop('_id', None)
        if message_id is None:
            return True
        if message_id < self._next_message_id:
            return False
        self._next_message_id = message_id + 1
        return True

    async def _on_update(self, msg: dict[str, Any]) -> None:
        arrived = time.perf_counter()
        if not self._take_id(msg):
            return
        for key, element in msg.items():
            if element is None:
                self.elements.pop(int(key), None)
            else:
                self.elements[int(key)] = element
        self._check_waiters(arrived)

    async def _on_open(self, msg: dict[str, Any]) -> None:
        arrived = time.perf_counter()
        if self._take_id(msg):
            self.navigations.append(str(msg['path']))
            self._check_waiters(arrived)

    async def _on_run_javascript(self, msg: dict[str, Any]) -> None:
        if self._take_id(msg) and msg.get('request_id') and self._sio is not None:
            # No JavaScript here; answer like a browser whose code returned nothing.
            await self._sio.emit(
                'javascript_response', {'request_id': msg['request_id'], 'client_id': self.client_id, 'result': None}
            )

    async def _on_notify(self, msg: dict[str, Any]) -> None:
        if self._take_id(msg):
            self.notifications.append(str(msg.get('message', '')))
            self._check_waiters(time.perf_counter())

    async def _on_disconnect(self, *_: Any) -> None:
        if not self._closed:
            self._fail_waiters(UiError(f'socket of {self.path} disconnected'))

    def _check_waiters(self, arrived: float) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
                continue
            try:
                value = waiter.predicate()
            except Exception as exc:  # a broken predicate must not hang the benchmark
                waiter.future.set_exception(exc)
                self._waiters.remove(waiter)
                continue
            if value:
                waiter.future.set_result((value, arrived))
                self._waiters.remove(waiter)

    def _fail_waiters(self, exc: Exception) -> None:
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(exc)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> tuple[T, float]:
        """Wait until `predicate()` is truthy after a server message; (its value, perf_counter at arrival).

        Checked at once too (then the time is now): make the predicate false for the current state when
        timing a reaction, e.g. "status text differs from the text before the click".
        """
        value = predicate()
        if value:
            return value, time.perf_counter()
        future: asyncio.Future[tuple[Any, float]] = asyncio.get_running_loop().create_future()
        waiter = Waiter(predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise UiError(f'{self.path}: no matching update within {timeout:.1f} s') from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    # finding elements

    def find_all(
        self,
        *,
        label: str | None = None,
        text: str | None = None,
        tag: str | None = None,
        props: dict[str, Any] | None = None,
    ) -> list[int]:
        """Ids of elements whose props.label / text / tag / props all match what is given."""
        found = []
        for element_id, element in self.elements.items():
            el_props = element.get('props', {})
            if label is not None and el_props.get('label') != label:
                continue
            if text is not None and element.get('text') != text:
                continue
            if tag is not None and element.get('tag') != tag:
                continue
            if props and any(el_props.get(k) != v for k, v in props.items()):
                continue
            found.append(element_id)
        return found

    def find(self, **criteria: Any) -> int:
        """The one element matching `criteria` (see find_all); UiError when none or several match."""
        found = self.find_all(**criteria)
        if len(found) != 1:
            raise UiError(f'{self.path}: {len(found)} elements match {criteria}')
        return found[0]

    def parent(self, element_id: int) -> int | None:
        for candidate_id, element in self.elements.items():
            if element_id in element.get('children', []):
                return candidate_id
            if any(element_id in slot.get('ids', []) for slot in element.get('slots', {}).values()):
                return candidate_id
        return None

    def ancestor(self, element_id: int, tag: str) -> int:
        """The nearest enclosing element with `tag` (e.g. the q-btn around a label)."""
        current: int | None = self.parent(element_id)
        while current is not None:
            if self.elements[current].get('tag') == tag:
                return current
            current = self.parent(current)
        raise UiError(f'{self.path}: element {element_id} has no {tag} ancestor')

    def text(self, element_id: int) -> str:
        element = self.elements.get(element_id)
        return '' if element is None else str(element.get('text') or '')

    def prop(self, element_id: int, name: str, default: Any = None) -> Any:
        element = self.elements.get(element_id)
        return default if element is None else element.get('props', {}).get(name, default)

    def is_visible(self, element_id: int) -> bool:
        element = self.elements.get(element_id)
        return element is not None and 'hidden' not in element.get('class', [])

    # actions, as the browser sends them

    def _listener(self, element_id: int, event_type: str, key: str | None = None) -> dict[str, Any]:
        element = self.elements.get(element_id)
        if element is None:
            raise UiError(f'{self.path}: element {element_id} is gone')
        for listener in element.get('events', []):
            if listener['type'] == event_type and (key is None or key in listener.get('keys', [])):
                return listener
        raise UiError(f'{self.path}: element {element_id} ({element.get("tag")}) has no {event_type} listener')

    async def emit_event(self, element_id: int, listener: dict[str, Any], args: list[Any]) -> None:
        if self._sio is None or not self._sio.connected:
            raise UiError(f'{self.path}: socket not connected')
        await self._sio.emit(
            'event',
            {
                'id': element_id,
                'client_id': self.client_id,
                'listener_id': listener['listener_id'],
                'args': [json.dumps(a) for a in args],
            },
        )

    async def click(self, element_id: int) -> float:
        """Send a click; the perf_counter time just before it went out."""
        listener = self._listener(element_id, 'click')
        sent = time.perf_counter()
        await self.emit_event(element_id, listener, [] if listener.get('args') == [] else [{}])
        return sent

    async def set_value(self, element_id: int, value: Any) -> None:
        """Type into an input: the value-change event the browser sends (no echo: loopback is off)."""
        element = self.elements.get(element_id, {})
        listener = next((e for e in element.get('events', []) if e['type'].startswith('update:')), None)
        if listener is None:
            raise UiError(f'{self.path}: element {element_id} has no value listener')
        await self.emit_event(element_id, listener, [value])
        element.setdefault('props', {})[listener['type'].removeprefix('update:')] = value

    async def press_key(self, element_id: int, key: str) -> None:
        """A keydown listener for `key` (e.g. 'enter'), as the browser reports it."""
        listener = self._listener(element_id, 'keydown', key.lower())
        await self.emit_event(element_id, listener, [{'key': key.capitalize(), 'type': 'keydown'}])


# --- sign-in through the real page -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    seconds: float  # from the click on 'Sign in' to the server's navigation to /auth/complete
    next_path: str


async def sign_in(http: httpx.AsyncClient, username: str, password: str, *, timeout: float = 30.0) -> SignIn:
    """Sign in as a person does: open /signin, type, click 'Sign in', follow the ticket to get the cookie.

    The session cookie ends up in `http`'s jar (it is HttpOnly: only an HTTP response can set it).
    """
    page = await Page.open(http, '/signin')
    try:
        await page.set_value(page.find(label='User name'), username)
        await page.set_value(page.find(label='Password'), password)
        alert = page.find(props={'role': 'alert'})
        sent = await page.click(page.find(label='Sign in'))
    except BaseException:
        await page.close()
        raise
    arrived, location = await follow_ticket(http, page, alert, f'sign-in as {username}', timeout)
    return SignIn(arrived - sent, location)


async def follow_ticket(
    http: httpx.AsyncClient, page: Page, alert: int, what: str, timeout: float = 30.0
) -> tuple[float, str]:
    """After a sign-in was sent on `page`: wait for the server's navigation to the ticket (or a refusal in `alert`),
    close the page, follow the ticket to the session cookie. Returns when the navigation arrived, and where the
    ticket leads (the Location of /auth/complete)."""
    try:

        def outcome() -> str:
            if page.navigations:
                return 'navigated'
            return 'refused' if page.text(alert) else ''

        result, arrived = await page.wait_for(outcome, timeout)
        if result == 'refused':
            raise UiError(f'{what} refused: {page.text(alert)}')
        target = page.navigations[-1]
    finally:
        await page.close()
    if not target.startswith('/auth/complete?ticket='):
        raise UiError(f'{what} navigated to {target!r}, not to /auth/complete')
    response = await http.get(target)
    if response.status_code != 303 or SESSION_COOKIE not in response.cookies:
        raise UiError(f'GET /auth/complete: HTTP {response.status_code} without a session cookie')
    return arrived, response.headers.get('location', '/')


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # httpx builds a new default SSL context (reading the CA bundle, ~20-60 ms of CPU) for every client
    # unless given one; per simulated browser that blocked the bench's own event loop and showed up as
    # server latency. One shared context; the servers here are plain http anyway.
    return ssl.create_default_context()


def browser(base_url: str, *, timeout: float = 30.0) -> httpx.AsyncClient:
    """A fresh simulated browser: its own cookie jar, no redirects followed (the bench sees each hop)."""
    return httpx.AsyncClient(
        base_url=base_url, follow_redirects=False, timeout=timeout, verify=_ssl_context(), trust_env=False
    )


# --- the server under test ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `potrack serve` subprocess on 127.0.0.1 and a free port, stopped by its own pid."""

    database_url: str | None = None  # None: the SQLite file potrack makes in its data folder
    env_extra: dict[str, str] = field(default_factory=dict)
    # What runs the server, after the interpreter: `-m potrack serve`, or a wrapper of it (bench.profiled_serve).
    module_args: tuple[str, ...] = ('-m', 'potrack', 'serve')
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        return f'http://{HOST}:{self.port}'

    @property
    def effective_database_url(self) -> str:
        assert self.data_dir is not None
        return self.database_url or f'sqlite:///{(self.data_dir / "potrack.db").as_posix()}'

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / 'server.log'

    def start(self, timeout: float = 60.0) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix='potrack_bench_ui_')
        self.data_dir = Path(self._tmp.name)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(('POTRACK_', 'DATABASE_URL', 'SESSION_SECRET'))}
        env.update(
            {
                'DATABASE_URL': self.effective_database_url,
                'POTRACK_HOST': HOST,
                'POTRACK_PORT': str(self.port),
                'POTRACK_DATA_DIR': str(self.data_dir),
                'SESSION_SECRET': secrets.token_urlsafe(32),
                **self.env_extra,
            }
        )
        with open(self.log_path, 'wb') as log:
            # cwd: NiceGUI keeps its storage in ./.nicegui; and `-m` puts the cwd first on sys.path.
            self.proc = subprocess.Popen(
                [sys.executable, *self.module_args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UiError(f'potrack serve exited with {self.proc.returncode}:\n{self.log_tail()}')
            try:
                if httpx.get(f'{self.base_url}/healthz', timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise UiError(f'potrack serve did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}')

    def log_tail(self, lines: int = 30) -> str:
        try:
            return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])
        except OSError:
            return '(no log)'

    def rss_kb(self) -> int:
        """VmRSS of the server process, in kB."""
        for line in Path(f'/proc/{self.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
        raise UiError('no VmRSS in /proc status')

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f'/proc/{self.pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


@contextlib.contextmanager
def running_server(
    database_url: str | None,
    env_extra: dict[str, str] | None = None,
    module_args: tuple[str, ...] = ('-m', 'potrack', 'serve'),
) -> Iterator[Server]:
    server = Server(database_url, env_extra or {}, module_args)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def scratch_postgres(prefix: str = PG_DB_PREFIX) -> Iterator[str]:
    """A new, empty PostgreSQL database on 127.0.0.1 (dropped afterwards); yields its URL."""
    import psycopg2

    name = f'{prefix}{secrets.token_hex(4)}'
    conn = psycopg2.connect(PG_ADMIN_DSN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE {name}')
        yield f'postgresql://postgres@{HOST}:5432/{name}'
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')
        conn.close()


# --- data through potrack's own API ------------------------------------------------------------------------


def create_operators(database_url: str, names: list[str], password: str, department: str) -> None:
    """Active operators in `department` who need not change their password (hashes at this process's cost)."""
    from sqlmodel import select

    from potrack.accounts.users import insert_user
    from potrack.db import Database
    from potrack.db.models import Department

    db = Database(database_url)
    try:

        def unit(session: Any) -> None:
            dept = session.exec(select(Department).where(Department.name == department)).one()
            for name in names:
                insert_user(
                    session,
                    username=name,
                    password=password,
                    full_name=f'Bench {name}',
                    department_id=dept.id,
                    must_change_password=False,
                )

        db.write(unit)
    finally:
        db.dispose()


# --- figures -----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks; NaN for no values."""
    if not values:
        return float('nan')
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        'n': float(len(ms)),
        'p50': percentile(ms, 50),
        'p95': percentile(ms, 95),
        'max': max(ms) if ms else float('nan'),
        'mean': statistics.fmean(ms) if ms else float('nan'),
    }
