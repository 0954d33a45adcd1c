"""rangecat.RangeStream: range-streams' API on rangecat's engine."""

import os
import warnings

import pytest

import rangecat


@pytest.fixture
def data(served_dir):
    data = os.urandom(100_000)
    (served_dir / "stream.bin").write_bytes(data)
    return data


def test_an_empty_first_range_learns_the_length_without_body_bytes(nginx, data):
    stream = rangecat.RangeStream(nginx.url("stream.bin"))
    assert stream.total_bytes == len(data)
    assert stream.ranges == []
    assert all(r.sent == 0 for r in nginx.requests())


def test_add_read_seek_tell_over_the_active_range(nginx, data):
    stream = rangecat.RangeStream(nginx.url("stream.bin"), (10, 20))
    assert stream.total_bytes == len(data)
    assert stream.read(4) == data[10:14]
    assert stream.tell() == 4
    assert stream.ranges == [(14, 20)]
    stream.seek(0)
    assert stream.read() == data[10:20]
    stream.add((-100, len(data)))
    stream.seek(-10, 2)
    assert stream.read() == data[-10:]
    assert [r.range for r in nginx.requests()] == ["bytes=10-19", "bytes=99900-99999"]


def test_disjoint_never_requests_a_byte_twice(nginx, data):
    stream = rangecat.RangeStream(nginx.url("stream.bin"), (70_000, 70_100))
    stream.add((70_050, 70_200))
    # Replant: the first range keeps its part before the new one.
    assert stream.ranges == [(70_000, 70_050), (70_050, 70_200)]
    assert stream.read() == data[70_050:70_200]
    assert stream.ranges == [(70_000, 70_050)]
    stream.add((69_000, 71_000))
    assert stream.read() == data[69_000:71_000]
    assert [r.range for r in nginx.requests()] == [
        "bytes=70000-70099",
        "bytes=70100-70199",
        "bytes=69000-69999",
        "bytes=70200-70999",
    ]


def test_pruning_levels(nginx, data):
    url = nginx.url("stream.bin")
    burn = rangecat.RangeStream(url, (0, 100), pruning_level=1)
    burn.add((50, 150))
    assert burn.ranges == [(50, 150)]
    strict = rangecat.RangeStream(url, (0, 100), pruning_level=2)
    with pytest.raises(ValueError):
        strict.add((50, 150))
    with pytest.raises(ValueError):
        rangecat.RangeStream(url, pruning_level=3)


def test_degenerate_mode_requests_overlaps_again(nginx, data):
    stream = rangecat.RangeStream(nginx.url("stream.bin"), (0, 100), disjoint=False)
    stream.add((50, 150))
    assert stream.read() == data[50:150]
    stream.set_active_range((0, 100))
    assert stream.read() == data[:100]
    assert [r.range for r in nginx.requests()] == ["bytes=0-99", "bytes=50-149"]


def test_range_streams_arguments_run_unchanged(nginx, data):
    ranges = pytest.importorskip("ranges")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream = rangecat.RangeStream(
            nginx.url("stream.bin"), object(), ranges.Range(5, 25), 0, False, chunk_size=1024
        )
    assert any("client" in str(w.message) for w in caught)
    assert stream.read() == data[5:25]
    stream.add(byte_range=ranges.Range(30, 40))
    assert stream.read() == data[30:40]


def test_single_request_windows_may_overlap(nginx, data):
    stream = rangecat.RangeStream(nginx.url("stream.bin"), (0, 100), single_request=True)
    stream.add((50, 150))
    assert stream.ranges == [(0, 100), (50, 150)]
    assert stream.read() == data[50:150]
    stream.set_active_range((0, 100))
    assert stream.read() == data[:100]
    assert [r.range for r in nginx.requests()] == ["bytes=0-99", "bytes=100-149"]
