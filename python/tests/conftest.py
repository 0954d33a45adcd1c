"""A real nginx on 127.0.0.1 for the tests, started once per session, serving a temp dir,
with an access log of every request's method, path, Range and If-Range headers and status:
the tests count requests at the server."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import pytest

# One tab-separated line per request, `-` for an absent header.
LOG_FORMAT = "'$request_method\\t$uri\\t$http_range\\t$http_if_range\\t$status\\t$body_bytes_sent'"

CONFIG = """{user}
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format rangecat {log_format};
    access_log {dir}/access.log rangecat;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        location /no-ranges/ {{
            alias {root}/;
            max_ranges 0;
        }}
    }}
}}
"""


@dataclass
class Request:
    method: str
    path: str
    range: str
    if_range: str
    status: int
    sent: int


def nginx_binary():
    for candidate in ("/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Nginx:
    """nginx serving ``root``; ``requests()`` are those logged since the last ``reset()``."""

    def __init__(self, root: Path, binary: str) -> None:
        self.root = root
        self.dir = Path(tempfile.mkdtemp(prefix="rangecat-nginx-"))
        self.port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.dir / "nginx.conf"
        conf.write_text(
            CONFIG.format(user=user, dir=self.dir, log_format=LOG_FORMAT, port=self.port, root=root)
        )
        self.log = self.dir / "access.log"
        self.process = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "wb"),
        )
        deadline = time.monotonic() + 5
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("nginx exited: " + (self.dir / "stderr.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.offset = 0
        self.barriers = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def reset(self) -> None:
        """Forgets the requests logged so far."""
        self._sync()
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def _sync(self) -> str:
        # nginx logs a request after its last byte: a request of our own (a barrier), whose
        # line comes after every earlier one (one worker), says the log is complete.
        self.barriers += 1
        barrier = f"/.barrier-{self.barriers}"
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(f"GET {barrier} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            while sock.recv(65536):
                pass
        deadline = time.monotonic() + 5
        while True:
            text = self.log.read_text() if self.log.exists() else ""
            if f"\t{barrier}\t" in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError("the barrier never reached nginx's access log")
            time.sleep(0.01)

    def requests(self) -> List[Request]:
        """The requests since the last ``reset()``, oldest first (barriers left out)."""
        text = self._sync().encode()[self.offset :].decode()
        out = []
        for line in text.splitlines():
            method, path, rng, if_range, status, sent = line.split("\t")
            if path.startswith("/.barrier-"):
                continue
            out.append(Request(method, path, rng, if_range, int(status), int(sent)))
        return out

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def _nginx(served_dir):
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (CI=true: the tests need it)")
        pytest.skip("nginx is not installed")
    server = Nginx(served_dir, binary)
    yield server
    server.stop()


@pytest.fixture
def nginx(_nginx):
    """The session's nginx, its request log emptied for this test."""
    _nginx.reset()
    return _nginx
