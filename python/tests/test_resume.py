"""A body that breaks is resumed from its first missing byte, pinned to the first answer's
ETag: a small range-aware server that cuts its first answer halfway, on 127.0.0.1."""

import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import rangecat

DATA = os.urandom(300_000)


class CutsFirstAnswer(BaseHTTPRequestHandler):
    log = []  # (Range, If-Range) of each request
    cut = {0}  # the answers (by index) cut halfway

    def do_GET(self):
        rng = self.headers.get("Range", "")
        self.log.append((rng, self.headers.get("If-Range")))
        if suffix := re.fullmatch(r"bytes=-(\d+)", rng):
            start, end = max(len(DATA) - int(suffix.group(1)), 0), len(DATA)
        else:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
            start = int(m.group(1))
            end = min(int(m.group(2)) + 1 if m.group(2) else len(DATA), len(DATA))
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(DATA)}")
        self.send_header("Content-Length", str(end - start))
        self.send_header("ETag", '"v1"')
        self.end_headers()
        body = DATA[start:end]
        if len(self.log) - 1 in self.cut:
            body = body[: len(body) // 2]  # then the connection closes
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cutting_server():
    CutsFirstAnswer.log = []
    CutsFirstAnswer.cut = {0}
    server = ThreadingHTTPServer(("127.0.0.1", 0), CutsFirstAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data.bin"
    server.shutdown()
    server.server_close()


def test_a_broken_first_body_is_resumed_under_if_range(cutting_server):
    with rangecat.open(cutting_server) as f:
        assert f.read(100_000) == DATA[:100_000]
    assert CutsFirstAnswer.log == [("bytes=0-99999", None), ("bytes=50000-99999", '"v1"')]


def test_a_broken_later_body_is_resumed_too(cutting_server):
    CutsFirstAnswer.cut = {1}
    with rangecat.open(cutting_server) as f:
        f.seek(-10, os.SEEK_END)
        assert f.read() == DATA[-10:]
        f.seek(0)
        assert f.read(100_000) == DATA[:100_000]
    assert CutsFirstAnswer.log == [
        ("bytes=-65536", None),
        ("bytes=0-99999", '"v1"'),
        ("bytes=50000-99999", '"v1"'),
    ]


def test_without_retries_a_broken_body_is_a_network_error(cutting_server):
    with rangecat.open(cutting_server, retries=0) as f:
        with pytest.raises(rangecat.NetworkError):
            f.read(100_000)
