"""read_ranges (planned as the command line plans) and list_zip (ls --json's fields)."""

import os
import zipfile

import pytest

import rangecat


def test_ranges_are_python_slices(nginx, served_dir):
    data = os.urandom(10_000)
    (served_dir / "slices.bin").write_bytes(data)
    cases = [(0, 10), (-10, None), (None, 5), (100, -9_000), (5, 3), (9_990, 20_000), (-20_000, 3)]
    got = rangecat.read_ranges(nginx.url("slices.bin"), cases)
    assert got == [data[a:b] for a, b in cases]
    assert all(r.method == "GET" for r in nginx.requests())


def test_strings_use_the_range_grammar(served_dir):
    data = os.urandom(5000)
    path = served_dir / "grammar.bin"
    path.write_bytes(data)
    got = rangecat.read_ranges(path, ["0x10+16", "-1KiB:", ":", "1k:2k"])
    assert got == [data[16:32], data[-1024:], data, data[1000:2000]]


def test_objects_with_start_and_end_are_ranges(served_dir):
    ranges = pytest.importorskip("ranges")
    data = os.urandom(1000)
    path = served_dir / "objects.bin"
    path.write_bytes(data)
    assert rangecat.read_ranges(path, [ranges.Range(10, 20)]) == [data[10:20]]


def test_ranges_are_planned_as_the_command_line_plans_them(nginx, served_dir):
    data = os.urandom(1_000_000)
    (served_dir / "plan.bin").write_bytes(data)
    url = nginx.url("plan.bin")
    # Touching ranges share one request; a repeated range is fetched once.
    assert rangecat.read_ranges(url, [(0, 100), (100, 200), (0, 100)]) == [
        data[0:100],
        data[100:200],
        data[0:100],
    ]
    assert [r.range for r in nginx.requests()] == ["bytes=0-199"]
    nginx.reset()
    rangecat.read_ranges(url, [(0, 100), (500, 600)])
    assert [r.range for r in nginx.requests()] == ["bytes=0-99", "bytes=500-599"]
    nginx.reset()
    assert rangecat.read_ranges(url, [(0, 100), (500, 600)], gap=1000) == [data[:100], data[500:600]]
    assert [r.range for r in nginx.requests()] == ["bytes=0-599"]


def test_multipart_sends_one_request(nginx, served_dir):
    data = os.urandom(100_000)
    (served_dir / "multi.bin").write_bytes(data)
    got = rangecat.read_ranges(nginx.url("multi.bin"), [(0, 10), (50_000, 50_010)], multipart=True)
    assert got == [data[:10], data[50_000:50_010]]
    assert [r.range for r in nginx.requests()] == ["bytes=0-9,50000-50009"]


def test_a_bad_range_is_a_range_error(served_dir):
    path = served_dir / "bad.bin"
    path.write_bytes(b"x")
    for bad in ["0-99", "abc", (1.5, 2), ("a", None), 7]:
        with pytest.raises(rangecat.RangeError) as caught:
            rangecat.read_ranges(path, [bad])
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, rangecat.Error)


def test_list_zip_has_the_fields_of_ls_json(nginx, served_dir):
    path = served_dir / "list.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "hello " * 100)
        zf.writestr("dir/", "")
        zf.writestr("dir/b.bin", os.urandom(1000), zipfile.ZIP_STORED)
    entries = rangecat.list_zip(nginx.url("list.zip"))
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    assert [e["name"] for e in entries] == [i.filename for i in infos]
    assert [e["size"] for e in entries] == [i.file_size for i in infos]
    assert [e["compressed_size"] for e in entries] == [i.compress_size for i in infos]
    assert [e["crc32"] for e in entries] == [i.CRC for i in infos]
    assert [e["offset"] for e in entries] == [i.header_offset for i in infos]
    assert [e["is_dir"] for e in entries] == [i.is_dir() for i in infos]
    assert [e["method"] for e in entries] == ["deflate", "deflate", "stored"]
    assert set(entries[0]) == {
        "name", "size", "compressed_size", "method", "crc32", "modified",
        "is_dir", "is_symlink", "encrypted", "offset",
    }
    assert len(nginx.requests()) == 1


def test_list_zip_of_something_else_is_a_zip_error(served_dir):
    path = served_dir / "not.zip"
    path.write_bytes(os.urandom(1000))
    with pytest.raises(rangecat.ZipError):
        rangecat.list_zip(path)


def test_jobs_fetch_in_parallel_each_byte_once(nginx, served_dir):
    data = os.urandom(8_000_000)
    (served_dir / "jobs.bin").write_bytes(data)
    cases = [(i * 300_000, i * 300_000 + 100_000) for i in range(20)]
    got = rangecat.read_ranges(nginx.url("jobs.bin"), cases, jobs=4)
    assert got == [data[a:b] for a, b in cases]
    requests = nginx.requests()
    assert sum(r.sent for r in requests) == 20 * 100_000
    assert all(r.status == 206 for r in requests)
