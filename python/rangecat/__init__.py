"""rangecat: remote files as seekable Python file objects, read by HTTP range requests.

- :func:`open`: a read-only binary file object (:class:`RangeFile`, an
  :class:`io.RawIOBase`) over an ``http://``, ``https://``, ``s3://`` or ``file://`` URL or
  a local path, for :mod:`zipfile`, :mod:`tarfile`, pyarrow, h5py, PIL...
- :func:`read_ranges`: many ranges at once, planned as the ``rangecat`` command line plans
  them (fewest requests, each byte once).
- :class:`RangeStream`: range-streams' class, so that its users change only the import.
- :func:`list_zip`: a zip archive's entries, the fields of ``rangecat ls --json``.

Every failure is a :class:`rangecat.Error` (an :class:`OSError`).
"""

import io
import json
import os
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlparse

from . import _rangecat
from ._errors import (
    ChangedError,
    Error,
    HTTPStatusError,
    NetworkError,
    RangeError,
    TimeoutError,
    ZipError,
)

__all__ = [
    "open",
    "read_ranges",
    "list_zip",
    "RangeFile",
    "RangeStream",
    "Error",
    "HTTPStatusError",
    "ChangedError",
    "RangeError",
    "TimeoutError",
    "NetworkError",
    "ZipError",
]

#: The default of ``max_buffer``: the command line's ``--max-buffer``.
DEFAULT_MAX_BUFFER = 64 * 1024 * 1024

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


def _headers(headers: Headers) -> Optional[List[Tuple[str, str]]]:
    if headers is None:
        return None
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _location(url: Union[str, "os.PathLike[str]"]) -> str:
    return os.fspath(url)


class RangeFile(io.RawIOBase):
    """A read-only binary file read by range; made by :func:`rangecat.open`.

    Reads fill the caller's buffer from bytes held in memory or fetched for it: no byte is
    fetched twice while ``max_buffer`` holds it, sequential reads fetch ahead (doubling up
    to 8 MiB), and the GIL is released while waiting for the network. One object may be
    used from several threads.
    """

    def __init__(self, reader: "_rangecat.Reader") -> None:
        super().__init__()
        self._reader = reader

    @property
    def url(self) -> str:
        """The URL, any password and signed query parameters replaced."""
        return self._reader.url

    @property
    def name(self) -> str:
        return self._reader.url

    @property
    def size(self) -> int:
        """The length in bytes; the first request teaches it (the last 64 KiB if none was sent)."""
        return self._reader.size

    @property
    def requests(self) -> int:
        """How many requests were sent so far."""
        return self._reader.requests

    def readable(self) -> bool:
        self._checkClosed()
        return True

    def seekable(self) -> bool:
        self._checkClosed()
        return True

    def writable(self) -> bool:
        self._checkClosed()
        return False

    def readinto(self, buffer: Any) -> int:
        """Reads into ``buffer`` (a writable bytes-like object); fewer bytes than its
        length only at the end."""
        self._checkClosed()
        with memoryview(buffer) as view, view.cast("B") as target:
            data = self._reader.read(len(target))
            n = len(data)
            target[:n] = data
            return n

    def read(self, size: Optional[int] = -1) -> bytes:
        """Up to ``size`` bytes (all the rest when ``size`` is negative or None); fewer only
        at the end."""
        self._checkClosed()
        return self._reader.read(-1 if size is None else size)

    def readall(self) -> bytes:
        """All the rest, in one request for what is not held."""
        self._checkClosed()
        return self._reader.read(-1)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Moves the position (``SEEK_SET``, ``SEEK_CUR``, ``SEEK_END``); returns it. A first
        ``SEEK_END`` asks for the last 64 KiB, which teaches the length."""
        self._checkClosed()
        return self._reader.seek(offset, whence)

    def tell(self) -> int:
        self._checkClosed()
        return self._reader.tell()

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()

    def __repr__(self) -> str:
        return f"<rangecat.RangeFile url={self.url!r}>"


def open(
    url: Union[str, "os.PathLike[str]"],
    *,
    headers: Headers = None,
    max_buffer: int = DEFAULT_MAX_BUFFER,
    timeout: Optional[float] = 30.0,
    connect_timeout: Optional[float] = 10.0,
    retries: int = 1,
) -> RangeFile:
    """Opens ``url`` (``http://``, ``https://``, ``s3://``, ``file://`` or a local path) as a
    read-only binary file object.

    Nothing is sent until the first read, ``seek(…, SEEK_END)`` or ``.size``; that first
    ranged GET teaches the length (no HEAD). Every later request carries the first
    response's validator (``If-Range``): a changed resource raises :class:`ChangedError`.
    ``headers`` are sent with every request; ``timeout`` bounds a stalled read,
    ``connect_timeout`` a connection (seconds); ``retries`` is per request; ``max_buffer``
    bounds the bytes kept in memory for later reads.
    """
    reader = _rangecat.Reader(
        _location(url),
        headers=_headers(headers),
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        max_buffer=max_buffer,
    )
    return RangeFile(reader)


RangeLike = Union[str, Tuple[Optional[int], Optional[int]], Any]


def _bound(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RangeError(f"a range bound must be an int or None, not {value!r}")
    return str(value)


def _range_text(rng: RangeLike) -> str:
    """A range as the command line's RANGE: a string as it is, a ``(start, end)`` half-open
    tuple (negative from the end, None open, as a Python slice), or an object with
    ``start`` and ``end`` (python-ranges' ``Range``)."""
    if isinstance(rng, str):
        return rng
    if isinstance(rng, (tuple, list)) and len(rng) == 2:
        start, end = rng
    elif hasattr(rng, "start") and hasattr(rng, "end"):
        start, end = rng.start, rng.end
    else:
        raise RangeError(f"a range is a RANGE string, a (start, end) tuple or a Range, not {rng!r}")
    return f"{_bound(start)}:{_bound(end)}"


def read_ranges(
    url: Union[str, "os.PathLike[str]"],
    ranges: Iterable[RangeLike],
    *,
    multipart: bool = False,
    jobs: int = 1,
    gap: int = 0,
    headers: Headers = None,
    timeout: Optional[float] = 30.0,
    connect_timeout: Optional[float] = 10.0,
    retries: int = 1,
) -> List[bytes]:
    """The bytes of each range of ``url``, in order.

    Ranges are ``(start, end)`` half-open tuples (negative from the end, None open, as
    Python slices), objects with ``start`` and ``end``, or strings in the command line's
    RANGE grammar (``"-1KiB:"``, ``"0x200+512"``). They are planned as the command line
    plans them: the fewest requests, each byte fetched once (``gap``: ranges closer than
    this share a request; ``multipart``: multi-range requests; ``jobs``: requests in
    flight at once).
    """
    texts = [_range_text(r) for r in ranges]
    return _rangecat.read_ranges(
        _location(url),
        texts,
        multipart=multipart,
        jobs=jobs,
        gap=gap,
        headers=_headers(headers),
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
    )


def list_zip(
    url: Union[str, "os.PathLike[str]"],
    *,
    headers: Headers = None,
    timeout: Optional[float] = 30.0,
    connect_timeout: Optional[float] = 10.0,
    retries: int = 1,
) -> List[Dict[str, Any]]:
    """The entries of the zip archive at ``url`` from its central directory (at most two
    requests), as ``rangecat ls --json`` shows them: ``name``, ``size``,
    ``compressed_size``, ``method``, ``crc32``, ``modified``, ``is_dir``, ``is_symlink``,
    ``encrypted``, ``offset``."""
    lines = _rangecat.list_zip(
        _location(url),
        headers=_headers(headers),
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
    )
    return [json.loads(line) for line in lines]


from ._stream import RangeStream  # noqa: E402  (uses the names above)
