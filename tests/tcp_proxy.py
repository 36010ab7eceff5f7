"""A TCP proxy on 127.0.0.1 in front of PostgreSQL that can lose a COMMIT or the answer to it.

The ambiguous commit: the server commits, the reply never reaches the client. Only a network in
between can do that to a real server, so the tests put this one in between. It looks at the bytes the
client sends (psycopg2 sends `…; COMMIT` as one simple-query message, which ends with it) and, once
armed, either swallows the answer to the first message ending in COMMIT (the server did commit) or the
message itself (the server never sees it); then it closes that connection. With `refuse` set it also
turns new connections away, as a network that stays down would.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator

BUFFER = 65536
# A simple-query message ends with its text and a NUL: `EXECUTE …; COMMIT\0` (not a value that says commit).
COMMIT_AT_END = b'COMMIT\x00'


class FaultyProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port: int = self.listener.getsockname()[1]
        self.mode: str | None = None  # 'drop_reply' | 'drop_commit' once armed; cleared when it has struck
        self.refuse = False
        self.struck = threading.Event()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def arm(self, mode: str, *, refuse: bool = False) -> None:
        self.struck.clear()
        self.refuse = refuse
        self.mode = mode

    def heal(self) -> None:
        self.mode, self.refuse = None, False

    def close(self) -> None:
        self._stopped.set()
        self.listener.close()
        for thread in self._threads:
            thread.join(5)

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            server = socket.create_connection(self.upstream, timeout=5)
            self._start(self._pump, client, server)

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        doomed = False  # the COMMIT went through: the next answer is lost
        with contextlib.ExitStack() as stack:
            stack.callback(client.close)
            stack.callback(server.close)
            for data, from_client in self._chunks(client, server):
                if from_client:
                    if self.mode and COMMIT_AT_END in data:
                        if self.mode == 'drop_commit':
                            self._strike()
                            return  # never forwarded: the server sees the client go away mid-transaction
                        doomed = True
                    server.sendall(data)
                elif doomed:
                    self._strike()
                    return  # the server committed and answered; the answer is lost with the connection
                else:
                    client.sendall(data)

    def _strike(self) -> None:
        self.mode = None
        self.struck.set()

    def _chunks(self, client: socket.socket, server: socket.socket) -> Iterator[tuple[bytes, bool]]:
        while not self._stopped.is_set():
            ready, _, _ = select.select([client, server], [], [], 0.1)
            for sock in ready:
                try:
                    data = sock.recv(BUFFER)
                except OSError:
                    return
                if not data:
                    return
                yield data, sock is client
