"""The Python package against its peers: requests, bytes and time for listing a wheel,
reading one member, reading a Parquet footer and random 4 KiB reads, all from one nginx on
loopback whose access log counts the requests. Run by benches/python.sh."""

import contextlib
import hashlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python" / "tests"))
from conftest import Nginx, nginx_binary  # noqa: E402

import rangecat  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
RANDOM_READS = int(os.environ.get("BENCH_RANDOM_READS", "100"))
# range-streams lists a wheel in ~3 requests per entry, minutes here: BENCH_QUICK=1 skips it.
QUICK = os.environ.get("BENCH_QUICK") == "1"
warnings.simplefilter("ignore")


def make_files(root: Path):
    rng = random.Random(1)
    wheel = root / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pkg/__init__.py", "from ._native import *\n" * 10)
        zf.writestr("pkg/_native.so", rng.randbytes(4_000_000), zipfile.ZIP_STORED)
        for i in range(300):
            zf.writestr(f"pkg/module_{i:03}.py", f"VALUE = {i}\n" * 50)
        zf.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1_000_000
    table = pa.table({"x": list(range(n)), "y": [f"row {i}" for i in range(n)]})
    pq.write_table(table, root / "table.parquet")
    (root / "random.bin").write_bytes(rng.randbytes(64 * 1024 * 1024))
    return wheel


class Client:
    name = "?"

    def open(self, url: str):
        raise NotImplementedError


class Rangecat(Client):
    name = "rangecat"

    def open(self, url):
        return rangecat.open(url)


class Fsspec(Client):
    name = "fsspec"

    def __init__(self):
        import fsspec

        self.fsspec = fsspec

    def open(self, url):
        fs = self.fsspec.filesystem("http", skip_instance_cache=True)
        return fs.open(url, "rb")


class Obstore(Client):
    name = "obstore"

    def __init__(self, base):
        import obstore
        from obstore.store import HTTPStore

        self.obstore = obstore
        # object_store refuses plain http unless told.
        self.store = HTTPStore.from_url(base, client_options={"allow_http": True})
        self.base = base

    def open(self, url):
        # Its ReadableFile is no context manager.
        return contextlib.closing(self.obstore.open_reader(self.store, url[len(self.base) :]))


def offsets(size):
    rng = random.Random(42)
    return [rng.randrange(0, size - 4096) for _ in range(RANDOM_READS)]


def op_list(client, url, local):
    with client.open(url) as f:
        return zipfile.ZipFile(f).namelist()


def op_member(client, url, local):
    with client.open(url) as f:
        return zipfile.ZipFile(f).read("pkg/__init__.py")


def op_footer(client, url, local):
    import pyarrow.parquet as pq

    with client.open(url) as f:
        meta = pq.read_metadata(f)
        return (meta.num_rows, meta.num_row_groups)


def op_random(client, url, local):
    digest = hashlib.sha256()
    with client.open(url) as f:
        for at in offsets(local.stat().st_size):
            f.seek(at)
            digest.update(f.read(4096))
    return digest.hexdigest()


# range-streams (its own API): listing a wheel and random reads.
def rs_list(url):
    import httpx
    from range_streams.codecs import ZipStream

    # range-streams keeps a response open per range it adds (~3 per entry).
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    with httpx.Client(limits=limits) as client:
        return [z.filename for z in ZipStream(url=url, client=client).zipped_files]


def rs_random(url, local):
    import httpx
    from range_streams import RangeStream

    digest = hashlib.sha256()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    with httpx.Client(limits=limits) as client:
        stream = RangeStream(url=url, client=client, pruning_level=1)
        for at in offsets(local.stat().st_size):
            stream.add((at, at + 4096))
            digest.update(stream.read())
    return digest.hexdigest()


def expected(op, local):
    if op is op_list:
        return zipfile.ZipFile(local).namelist()
    if op is op_member:
        return zipfile.ZipFile(local).read("pkg/__init__.py")
    if op is op_footer:
        import pyarrow.parquet as pq

        meta = pq.read_metadata(local)
        return (meta.num_rows, meta.num_row_groups)
    data = local.read_bytes()
    return hashlib.sha256(b"".join(data[at : at + 4096] for at in offsets(len(data)))).hexdigest()


def measure(nginx, run, runs=RUNS):
    """The requests of one checked run, then the median time of `runs` more (or the checked
    run's time when `runs` is 0)."""
    nginx.reset()
    start = time.perf_counter()
    result = run()
    times = [time.perf_counter() - start] if runs == 0 else []
    requests = nginx.requests()
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return result, requests, statistics.median(times)


def main():
    binary = nginx_binary()
    if binary is None:
        sys.exit("benches/python.sh: nginx is needed (Debian: nginx-light)")
    root = Path(tempfile.mkdtemp(prefix="rangecat-pybench-"))
    wheel = make_files(root)
    nginx = Nginx(root, binary)
    try:
        base = nginx.url("")
        clients = [Rangecat()]
        for make in (Fsspec, lambda: Obstore(base)):
            try:
                clients.append(make())
            except Exception as err:  # a peer that is not installed is left out
                print(f"(left out: {err})")
        ops = [
            ("list a wheel (namelist)", op_list, wheel.name),
            ("namelist + one member", op_member, wheel.name),
            ("Parquet footer (read_metadata)", op_footer, "table.parquet"),
            (f"{RANDOM_READS} random 4 KiB reads", op_random, "random.bin"),
        ]
        print(f"{'operation':34} {'client':13} {'requests':>8} {'HEAD':>4} {'bytes':>11} {'median ms':>10} {'x rangecat':>10}")
        failed = False
        for title, op, name in ops:
            local = root / name
            want = expected(op, local)
            base_time = None
            runs = [(c.name, (lambda c=c: op(c, nginx.url(name), local)), RUNS) for c in clients]
            # range-streams' listing takes minutes (~3 requests per entry): timed once.
            if op is op_list and not QUICK:
                runs.append(("range-streams", lambda: rs_list(nginx.url(name)), 0))
            if op is op_random:
                runs.append(("range-streams", lambda: rs_random(nginx.url(name), local), RUNS))
            for client_name, run, timed in runs:
                try:
                    got, requests, median = measure(nginx, run, timed)
                except Exception as err:
                    print(f"{title:34} {client_name:13} failed: {type(err).__name__}: {err}"[:160])
                    continue
                if got != want:
                    print(f"{title:34} {client_name:13} WRONG RESULT")
                    failed = failed or client_name == "rangecat"
                    continue
                base_time = base_time or median
                heads = sum(r.method == "HEAD" for r in requests)
                sent = sum(r.sent for r in requests)
                print(
                    f"{title:34} {client_name:13} {len(requests):8} {heads:4} {sent:11,} "
                    f"{median * 1000:10.1f} {median / base_time:10.2f}"
                )
        sys.exit(1 if failed else 0)
    finally:
        nginx.stop()


if __name__ == "__main__":
    main()
