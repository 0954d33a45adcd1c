"""rangecat.open(): a file object whose reads are counted at the server. Expected bytes come
from Python on the local file (slicing, zipfile, tarfile, pyarrow), never from rangecat."""

import builtins
import errno
import hashlib
import io
import os
import random
import shutil
import tarfile
import threading
import time
import zipfile

import pytest

import rangecat


def write(directory, name, data: bytes):
    path = directory / name
    path.write_bytes(data)
    return path


def make_wheel(path, members=200, payload=1_000_000):
    """A wheel-like zip: a small member, a large one, then many small ones; its central
    directory (~15 KiB) lies within the last 64 KiB, the first member does not."""
    rng = random.Random(1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/__init__.py", "from ._native import *\n" * 10)
        zf.writestr("pkg/_native.so", rng.randbytes(payload), zipfile.ZIP_STORED)
        for i in range(members):
            zf.writestr(f"pkg/module_{i:03}.py", f"VALUE = {i}\n" * 20)
        zf.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    return path


def test_zipfile_namelist_is_one_request(nginx, served_dir):
    path = make_wheel(served_dir / "pkg-1.0-py3-none-any.whl")
    expected = zipfile.ZipFile(path).namelist()
    with rangecat.open(nginx.url(path.name)) as f:
        names = zipfile.ZipFile(f).namelist()
    assert names == expected
    requests = nginx.requests()
    assert [(r.method, r.range) for r in requests] == [("GET", "bytes=-65536")]


def test_reading_a_small_member_after_listing_is_at_most_one_more(nginx, served_dir):
    path = make_wheel(served_dir / "member.whl")
    with zipfile.ZipFile(path) as local:
        expected = local.read("pkg/__init__.py")
    with rangecat.open(nginx.url(path.name)) as f:
        with zipfile.ZipFile(f) as zf:
            assert zf.read("pkg/__init__.py") == expected
    requests = nginx.requests()
    assert len(requests) == 2
    assert requests[1].if_range != "-", "the second request is pinned to the first's ETag"
    assert all(r.method == "GET" for r in requests)


def test_metadata_in_the_tail_costs_nothing_more(nginx, served_dir):
    path = make_wheel(served_dir / "metadata.whl")
    with zipfile.ZipFile(path) as local:
        expected = local.read("pkg-1.0.dist-info/METADATA")
    with rangecat.open(nginx.url(path.name)) as f:
        assert zipfile.ZipFile(f).read("pkg-1.0.dist-info/METADATA") == expected
    assert len(nginx.requests()) == 1


def test_parquet_metadata_in_at_most_two_requests(nginx, served_dir):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"x": list(range(200_000)), "y": [f"row {i}" for i in range(200_000)]})
    path = served_dir / "table.parquet"
    pq.write_table(table, path)
    expected = pq.read_metadata(path)
    with rangecat.open(nginx.url(path.name)) as f:
        got = pq.read_metadata(f)
    assert got.num_rows == expected.num_rows
    assert got.schema.equals(expected.schema)
    requests = nginx.requests()
    assert 1 <= len(requests) <= 2
    assert all(r.method == "GET" for r in requests)
    with rangecat.open(nginx.url(path.name)) as f:
        assert pq.read_table(f, columns=["x"]).column("x").to_pylist() == list(range(200_000))


def test_sequential_read_of_50_mb_is_few_requests_and_no_byte_twice(nginx, served_dir):
    data = os.urandom(50_000_000)
    path = write(served_dir, "big.bin", data)
    digest = hashlib.sha256()

    class Hasher(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            digest.update(b)
            return len(b)

    with rangecat.open(nginx.url(path.name)) as f:
        # 64 KiB reads (shutil's buffer on Linux): the read-ahead doubles on each.
        shutil.copyfileobj(f, Hasher(), 64 * 1024)
    assert digest.digest() == hashlib.sha256(data).digest()
    requests = nginx.requests()
    assert len(requests) <= 50
    spans = []
    for r in requests:
        assert r.method == "GET" and r.status == 206
        first, last = r.range.removeprefix("bytes=").split("-")
        spans.append((int(first), int(last) + 1))
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end == start, "the requests neither overlap nor leave holes"


def test_read_seek_tell_match_bytesio(nginx, served_dir):
    data = os.urandom(300_000)
    path = write(served_dir, "random.bin", data)
    rng = random.Random(7)
    with rangecat.open(nginx.url(path.name)) as f, io.BytesIO(data) as model:
        assert f.readable() and f.seekable() and not f.writable()
        for _ in range(300):
            op = rng.randrange(5)
            if op == 0:
                offset, whence = rng.randrange(-1000, 400_000), io.SEEK_SET
                offset = abs(offset)
            elif op == 1:
                offset, whence = rng.randrange(-5000, 5000), io.SEEK_CUR
                offset = max(offset, -model.tell())
            elif op == 2:
                offset, whence = rng.randrange(-310_000, 10), io.SEEK_END
                offset = max(offset, -len(data))
            else:
                offset = None
            if offset is not None:
                assert f.seek(offset, whence) == model.seek(offset, whence)
            elif op == 3:
                n = rng.randrange(0, 20_000)
                assert f.read(n) == model.read(n)
            else:
                buf = bytearray(rng.randrange(1, 20_000))
                n = model.readinto(expected := bytearray(len(buf)))
                assert f.readinto(buf) == n
                assert buf[:n] == expected[:n]
            assert f.tell() == model.tell()
        f.seek(1000)
        assert f.read() == data[1000:]
        assert f.size == len(data)
    requests = nginx.requests()
    assert all(r.method == "GET" for r in requests)
    assert sum(r.sent for r in requests) <= len(data) + 64 * 1024, "no byte fetched twice"


def test_readinto_fills_a_memoryview_slice(nginx, served_dir):
    data = bytes(range(256)) * 100
    path = write(served_dir, "view.bin", data)
    with rangecat.open(nginx.url(path.name)) as f:
        buf = bytearray(1000)
        f.seek(10)
        assert f.readinto(memoryview(buf)[100:200]) == 100
        assert buf[100:200] == data[10:110]
        assert buf[:100] == bytes(100)
        f.seek(len(data) - 5)
        assert f.readinto(buf) == 5
        assert f.read(10) == b""


def test_first_read_teaches_the_length_without_head(nginx, served_dir):
    data = os.urandom(200_000)
    path = write(served_dir, "first.bin", data)
    with rangecat.open(nginx.url(path.name)) as f:
        assert f.read(0) == b""
        assert f.read(100) == data[:100]
        assert f.size == len(data)
        assert f.read(100) == data[100:200]
    assert [(r.method, r.range) for r in nginx.requests()] == [("GET", "bytes=0-65535")]


def test_tarfile_lists_like_the_local_file(nginx, served_dir):
    path = served_dir / "archive.tar"
    with tarfile.open(path, "w") as tar:
        for i in range(20):
            data = os.urandom(10_000 + i)
            info = tarfile.TarInfo(f"dir/file{i}.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as local:
        expected = local.getnames()
        member = local.extractfile("dir/file5.bin").read()
    with rangecat.open(nginx.url(path.name)) as f, tarfile.open(fileobj=f) as tar:
        assert tar.getnames() == expected
        assert tar.extractfile("dir/file5.bin").read() == member


def test_local_paths_and_file_urls_read_the_same(served_dir):
    data = os.urandom(100_000)
    path = write(served_dir, "local.bin", data)
    for location in (str(path), path, path.as_uri()):
        with rangecat.open(location) as f:
            f.seek(-10, io.SEEK_END)
            assert f.read() == data[-10:]
            assert f.size == len(data)


def test_a_missing_file_is_an_http_status_error(nginx):
    with pytest.raises(rangecat.HTTPStatusError) as caught:
        rangecat.open(nginx.url("missing.bin")).read(10)
    assert caught.value.status == 404
    assert caught.value.url == nginx.url("missing.bin")
    assert isinstance(caught.value, rangecat.Error) and isinstance(caught.value, OSError)


def test_the_url_is_redacted(nginx, served_dir):
    write(served_dir, "secret.bin", b"x" * 10)
    url = nginx.url("secret.bin").replace("http://", "http://user:hunter2@")
    f = rangecat.open(url)
    assert "hunter2" not in f.url and "hunter2" not in repr(f)
    with pytest.raises(rangecat.HTTPStatusError) as caught:
        rangecat.open(url.replace("secret.bin", "gone.bin")).read()
    assert "hunter2" not in str(caught.value) and "hunter2" not in caught.value.url


def test_a_changed_resource_is_a_changed_error(nginx, served_dir):
    data = os.urandom(300_000)
    path = write(served_dir, "changing.bin", data)
    with rangecat.open(nginx.url(path.name)) as f:
        assert f.read(10) == data[:10]
        path.write_bytes(os.urandom(300_000))
        os.utime(path, (1_000_000_000, 1_000_000_000))
        f.seek(200_000)
        with pytest.raises(rangecat.ChangedError):
            f.read(10)
    # nginx logs a quote as \x22.
    assert nginx.requests()[1].if_range.startswith("\\x22"), "pinned to the ETag"


def test_a_refused_connection_is_a_network_error():
    with socket_closed_port() as port:
        with pytest.raises(rangecat.NetworkError):
            rangecat.open(f"http://127.0.0.1:{port}/x", retries=0).read(1)


def test_a_stalled_server_is_a_timeout_error():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts (in the kernel) and never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
        started = time.monotonic()
        with pytest.raises(rangecat.TimeoutError) as caught:
            rangecat.open(url, timeout=0.3, retries=0).read(1)
        assert time.monotonic() - started < 5
    assert isinstance(caught.value, builtins.TimeoutError)
    assert isinstance(caught.value, rangecat.Error)


class socket_closed_port:
    def __enter__(self):
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc):
        return False


def test_bad_arguments_are_python_errors(served_dir):
    path = write(served_dir, "args.bin", b"0123456789")
    with rangecat.open(path) as f:
        with pytest.raises(ValueError):
            f.seek(-1)
        with pytest.raises(ValueError):
            f.seek(0, 3)
    with pytest.raises(ValueError):
        f.read()
    with pytest.raises(rangecat.Error):
        rangecat.open("gopher://example.com/x")
    with pytest.raises(rangecat.Error) as caught:
        rangecat.open(served_dir / "no-such-file")
    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == str(served_dir / "no-such-file")
    assert str(caught.value).startswith("[Errno 2] No such file or directory")
    with pytest.raises(ValueError):
        rangecat.open(path, timeout=-1)


def test_threads_share_one_file(nginx, served_dir):
    block = 4096
    blocks = 500
    data = b"".join(i.to_bytes(4, "big") + os.urandom(block - 4) for i in range(blocks))
    path = write(served_dir, "threads.bin", data)
    got = {}
    with rangecat.open(nginx.url(path.name)) as f:

        def worker():
            while chunk := f.read(block):
                got[int.from_bytes(chunk[:4], "big")] = chunk

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert b"".join(got[i] for i in range(blocks)) == data


def test_h5py_reads_a_dataset(nginx, served_dir):
    h5py = pytest.importorskip("h5py")
    np = pytest.importorskip("numpy")
    values = np.arange(500_000, dtype="int64")
    path = served_dir / "data.h5"
    with h5py.File(path, "w") as out:
        out.create_dataset("x", data=values, chunks=(50_000,))
        out.attrs["note"] = "hello"
    with rangecat.open(nginx.url(path.name)) as f, h5py.File(f, "r") as h5:
        assert h5.attrs["note"] == "hello"
        assert np.array_equal(h5["x"][1000:2000], values[1000:2000])
        assert np.array_equal(h5["x"][:], values)
    requests = nginx.requests()
    assert all(r.method == "GET" for r in requests)
    assert sum(r.sent for r in requests) <= path.stat().st_size + 64 * 1024, "no byte twice"


def test_the_gil_is_released_while_waiting_for_the_network():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
        failures = []

        def blocked():
            try:
                rangecat.open(url, timeout=1.0, retries=0).read(1)
            except rangecat.TimeoutError as err:
                failures.append(err)

        thread = threading.Thread(target=blocked)
        thread.start()
        time.sleep(0.05)
        ticks = 0
        while thread.is_alive():
            ticks += 1
            time.sleep(0.01)
        thread.join()
    assert failures, "the read timed out"
    # Holding the GIL for the second of waiting, the read would leave this loop one tick.
    assert ticks >= 20


def test_a_server_ignoring_ranges_sends_the_file_once(nginx, served_dir):
    path = make_wheel(served_dir / "whole.whl")
    with zipfile.ZipFile(path) as local:
        expected = local.read("pkg/__init__.py")
        names = local.namelist()
    # nginx's /no-ranges/ answers every request with a 200 and the whole file.
    with rangecat.open(nginx.url("no-ranges/" + path.name)) as f, zipfile.ZipFile(f) as zf:
        assert zf.namelist() == names
        assert zf.read("pkg/__init__.py") == expected
    requests = nginx.requests()
    assert [(r.method, r.status) for r in requests] == [("GET", 200)]
    assert requests[0].sent == path.stat().st_size


def test_s3_urls_are_signed_and_read_like_any_other(nginx, served_dir, tmp_path, monkeypatch):
    """``s3://BUCKET/KEY`` (README, "Object stores") against nginx standing in for a store
    on a custom endpoint: path-style ``/BUCKET/KEY``; nginx ignores the presigned query."""
    (served_dir / "bucket").mkdir(exist_ok=True)
    path = make_wheel(served_dir / "bucket" / "pkg.whl")
    expected = zipfile.ZipFile(path).namelist()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL", nginx.url("").rstrip("/"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDPYTHON")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "python-secret")
    with rangecat.open("s3://bucket/pkg.whl") as f:
        assert f.url == "s3://bucket/pkg.whl"
        assert zipfile.ZipFile(f).namelist() == expected
    assert [(r.method, r.path, r.range) for r in nginx.requests()] == [
        ("GET", "/bucket/pkg.whl", "bytes=-65536")
    ]
    with pytest.raises(rangecat.HTTPStatusError) as missing:
        rangecat.open("s3://bucket/nope.whl").read(1)
    assert missing.value.status == 404
    assert missing.value.url == "s3://bucket/nope.whl"
    assert "python-secret" not in str(missing.value)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(rangecat.Error, match="no AWS credentials"):
        rangecat.open("s3://bucket/pkg.whl").read(1)
