"""The README's nginx sample, as written: `nginx -t` accepts it, and Prometheus reaches each instance's /metrics.

Runs the real nginx (Debian's package) on free ports of 127.0.0.1 with a throwaway certificate; the two
potrack instances are stand-ins that answer who asked them. Skipped, with the reason, where nginx or
openssl is not installed; CI installs both and sets POTRACK_REQUIRE_NGINX=1, so there it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parent.parent / 'README.md'
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
OPENSSL = shutil.which('openssl')


@pytest.fixture(autouse=True)
def _require_nginx() -> None:
    if Path(NGINX).exists() and OPENSSL is not None:
        return
    reason = 'needs nginx and openssl: apt-get install nginx openssl'
    if os.environ.get('POTRACK_REQUIRE_NGINX'):  # CI: a missing nginx fails instead
        pytest.fail(reason)
    pytest.skip(reason)


def readme_sample() -> str:
    blocks = re.findall(r'```nginx\n(.*?)```', README.read_text(), flags=re.S)
    assert len(blocks) == 1, 'the README has one nginx sample'
    return blocks[0]


class Instance(BaseHTTPRequestHandler):
    """Stands in for one potrack instance: answers with its port, the client address and X-Forwarded-For."""

    def do_GET(self) -> None:
        body = f'{self.server.server_address[1]} {self.client_address[0]} {self.headers.get("X-Forwarded-For")}'
        data = f'{self.path} {body}'.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def instances() -> Iterator[list[int]]:
    servers = [ThreadingHTTPServer(('127.0.0.1', 0), Instance) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    server = ThreadingHTTPServer(('127.0.0.1', 0), Instance)
    port = server.server_address[1]
    server.server_close()
    return port


def configure(tmp_path: Path, instances: list[int], http_port: int, https_port: int) -> Path:
    """The README's sample inside a minimal nginx.conf: only ports, certificate paths and the allowed host differ."""
    subprocess.run(
        [
            *(OPENSSL, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'),
            *(
                '-subj',
                '/CN=potrack.example.com',
                '-keyout',
                str(tmp_path / 'key.pem'),
                '-out',
                str(tmp_path / 'cert.pem'),
            ),
        ],
        check=True,
        capture_output=True,
    )
    sample = readme_sample()
    for old, new in (('8081', str(instances[0])), ('8082', str(instances[1]))):
        sample = sample.replace(old, new)
    sample = sample.replace('listen 80;', f'listen 127.0.0.1:{http_port};')
    sample = sample.replace('listen 443 ssl', f'listen 127.0.0.1:{https_port} ssl')
    sample = re.sub(r'ssl_certificate\s+\S+;', f'ssl_certificate {tmp_path / "cert.pem"};', sample)
    sample = re.sub(r'ssl_certificate_key\s+\S+;', f'ssl_certificate_key {tmp_path / "key.pem"};', sample)
    sample = sample.replace('allow 10.0.0.5;', 'allow 127.0.0.1;')  # the test is the Prometheus server
    temp = '\n'.join(
        f'    {kind}_temp_path {tmp_path / kind};' for kind in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi')
    )
    conf = tmp_path / 'nginx.conf'
    conf.write_text(
        f'pid {tmp_path / "nginx.pid"};\nerror_log {tmp_path / "error.log"};\nevents {{}}\n'
        f'http {{\n    access_log off;\n{temp}\n{sample}\n}}\n'
    )
    return conf


def test_nginx_accepts_the_readme_sample(tmp_path: Path, instances: list[int]) -> None:
    conf = configure(tmp_path, instances, free_port(), free_port())
    checked = subprocess.run([NGINX, '-t', '-p', str(tmp_path), '-c', str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert 'syntax is ok' in checked.stderr


def test_prometheus_reaches_each_instance_and_nobody_else_does(tmp_path: Path, instances: list[int]) -> None:
    https_port = free_port()
    conf = configure(tmp_path, instances, free_port(), https_port)
    # nginx binds its sockets before it goes to the background: when this command returns, it listens.
    started = subprocess.run([NGINX, '-p', str(tmp_path), '-c', str(conf)], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    base = f'https://127.0.0.1:{https_port}'
    try:
        with httpx.Client(verify=False, timeout=5.0) as client:  # noqa: S501 - the test's own certificate
            for port in instances:
                answer = client.get(f'{base}/metrics/{port}')
                # That instance's own /metrics, asked by nginx on 127.0.0.1 with no X-Forwarded-For: the
                # instance's guard lets the machine itself in.
                assert (answer.status_code, answer.text) == (200, f'/metrics {port} 127.0.0.1 None')
            assert client.get(f'{base}/metrics').status_code == 403
            # Any other path, /metrics/22 included, goes through the sticky upstream with the client's address
            # forwarded: never to another port, never as the machine itself.
            for path in ('/kiosk', '/metrics/22'):
                answer = client.get(f'{base}{path}')
                port = int(answer.text.split()[1])
                assert (answer.status_code, port in instances) == (200, True)
                assert answer.text.endswith(' 127.0.0.1 127.0.0.1'), answer.text
    finally:  # this test's nginx only: the signal goes to the pid in its own pid file
        subprocess.run([NGINX, '-p', str(tmp_path), '-c', str(conf), '-s', 'stop'], capture_output=True, timeout=10)
