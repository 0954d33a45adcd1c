"""range-streams' ``RangeStream`` on rangecat's engine: code written for range-streams
runs with only the import changed (``from rangecat import RangeStream``)."""

import io
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlparse

from . import _rangecat

#: range-streams' positional parameters after ``url``, in its order.
_SEED_POSITIONAL = (
    "client",
    "byte_range",
    "pruning_level",
    "single_request",
    "force_async",
    "chunk_size",
    "raise_response",
)


def _is_range(value: Any) -> bool:
    return isinstance(value, (tuple, list)) or (
        hasattr(value, "start") and hasattr(value, "end")
    )


def _pair(byte_range: Any) -> Tuple[int, int]:
    if isinstance(byte_range, (tuple, list)) and len(byte_range) == 2:
        start, end = byte_range
    elif hasattr(byte_range, "start") and hasattr(byte_range, "end"):
        start, end = byte_range.start, byte_range.end
    else:
        raise TypeError(f"a range is a (start, end) tuple or a Range, not {byte_range!r}")
    for bound in (start, end):
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise TypeError(f"range bounds must be ints, not {bound!r}")
    return start, end


class _Window:
    """One registered range: its bytes come from the stream's reader (``own`` is None) or,
    in the degenerate mode, from its own response."""

    def __init__(self, start: int, end: int, own: Optional[bytes] = None) -> None:
        self.start = start
        self.end = end
        self.pos = 0
        self.own = own

    def remaining(self) -> int:
        return max(self.end - self.start - self.pos, 0)


class RangeStream:
    """A file read by range requests, as range-streams' ``RangeStream``.

    ``byte_range`` (a half-open ``(start, end)`` tuple, or an object with ``start`` and
    ``end`` such as python-ranges' ``Range``; negative bounds count from the end) is
    requested at once and becomes the active range; the empty default learns the length
    without fetching body bytes. :meth:`add` requests more; :meth:`read`, :meth:`seek` and
    :meth:`tell` work within the active range; :attr:`ranges` lists the ranges not yet read
    through; :attr:`total_bytes` is the length.

    ``disjoint=True`` (range-streams' option A) never requests a byte twice: an added range
    that overlaps others is handled by ``pruning_level`` (0 replant: the others keep their
    parts outside it; 1 burn: the others are dropped; 2 strict: ``ValueError``) and only its
    missing bytes are requested. ``disjoint=False`` (option B, degenerate) requests every
    added range anew, each read separately. ``single_request=True`` serves every range from
    the bytes already held, as windows (range-streams' monostream), overlaps allowed.
    ``client`` is ignored (rangecat sends the requests), with a warning; ``chunk_size`` is
    accepted and has no effect.
    """

    def __init__(
        self,
        url: str,
        *args: Any,
        disjoint: bool = True,
        headers: Any = None,
        timeout: Optional[float] = 30.0,
        connect_timeout: Optional[float] = 10.0,
        retries: int = 1,
        **kwargs: Any,
    ) -> None:
        # Both `RangeStream(url, byte_range)` and range-streams' `RangeStream(url, client,
        # byte_range, ...)` are accepted.
        names = list(_SEED_POSITIONAL)
        if args and _is_range(args[0]):
            names.remove("byte_range")
            names.insert(0, "byte_range")
        if len(args) > len(names):
            raise TypeError(f"RangeStream takes at most {len(names) + 1} positional arguments")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"RangeStream got multiple values for argument {name!r}")
            kwargs[name] = value
        unknown = set(kwargs) - set(_SEED_POSITIONAL)
        if unknown:
            raise TypeError(f"RangeStream got unexpected keyword arguments {sorted(unknown)}")
        if kwargs.get("client") is not None:
            warnings.warn(
                "rangecat.RangeStream ignores `client`: rangecat sends the requests",
                stacklevel=2,
            )
        if kwargs.get("force_async"):
            raise NotImplementedError("rangecat.RangeStream is synchronous (force_async)")
        self.pruning_level = kwargs.get("pruning_level", 0)
        if self.pruning_level not in (0, 1, 2):
            raise ValueError("Pruning level must be 0, 1, or 2")
        self.single_request = bool(kwargs.get("single_request", False))
        self.chunk_size = kwargs.get("chunk_size")
        self.raise_response = kwargs.get("raise_response", True)
        self.disjoint = disjoint
        self.url = url
        from . import _headers, _location

        # Whole ranges stay held, as range-streams keeps its responses: no byte twice.
        self._reader = _rangecat.Reader(
            _location(url),
            headers=_headers(headers),
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            max_buffer=2**63,
        )
        self._windows: List[_Window] = []
        self._active: Optional[_Window] = None
        self.add(kwargs.get("byte_range", (0, 0)))

    # --- ranges ---------------------------------------------------------------------

    def _resolve(self, start: int, end: int) -> Tuple[int, int]:
        if start >= 0 and end >= 0:
            return start, end
        length = self._length()
        return slice(start, end).indices(length)[:2]

    def _length(self) -> int:
        known = self._reader.known_size
        return self._reader.size if known is None else known

    def add(self, byte_range: Any = (0, 0), activate: bool = True, name: str = "") -> None:
        """Requests ``byte_range`` (only its missing bytes when disjoint) and registers it;
        with ``activate`` it becomes the range that :meth:`read` reads."""
        start, end = self._resolve(*_pair(byte_range))
        if end <= start:
            if self._reader.known_size is None:
                self._reader.probe()
            return
        if self._reader.known_size is not None:
            end = min(end, self._reader.known_size)
        if any(w.start == start and w.end == end for w in self._windows):
            return  # range-streams: adding a range that exists is a no-op
        if self.disjoint and not self.single_request:
            self._prune(start, end)
        if self.disjoint:
            self._reader.span(start, end, True)  # the missing bytes, one request per run
            window = _Window(start, end)
        else:
            window = _Window(start, end, self._reader.span(start, end, False))
        end = min(end, self._length())
        window.end = end
        self._windows.append(window)
        if activate:
            self._active = window

    def _prune(self, start: int, end: int) -> None:
        for window in list(self._windows):
            w_start, w_end = window.start + window.pos, window.end
            if w_end <= start or end <= w_start or window.remaining() == 0:
                continue
            if self.pruning_level == 2:
                raise ValueError("Range overlap not registered due to strict pruning policy")
            self._windows.remove(window)
            if self._active is window:
                self._active = None
            if self.pruning_level == 1:
                continue
            # Replant: the parts outside the new range stay, as ranges of their own.
            if w_start < start:
                left = _Window(window.start, start)
                left.pos = window.pos
                self._windows.append(left)
                if self._active is None:
                    self._active = left
            if end < w_end:
                self._windows.append(_Window(end, w_end))
        if self._active is None and self._windows:
            self._active = self._windows[-1]

    @property
    def ranges(self) -> List[Tuple[int, int]]:
        """The registered ranges not yet read through, in order, each from its read position
        (range-streams' external ranges), as ``(start, end)`` tuples."""
        return sorted(
            (w.start + w.pos, w.end) for w in self._windows if w.remaining() > 0
        )

    def list_ranges(self) -> List[Tuple[int, int]]:
        return self.ranges

    def isempty(self) -> bool:
        return not self.ranges

    @property
    def spanning_range(self) -> Tuple[int, int]:
        ranges = self.ranges
        return (ranges[0][0], max(end for _, end in ranges)) if ranges else (0, 0)

    @property
    def total_range(self) -> Tuple[int, int]:
        return (0, self._length())

    @property
    def total_bytes(self) -> Optional[int]:
        """The length of the file, once a response told it."""
        return self._reader.known_size

    @property
    def name(self) -> str:
        return Path(urlparse(self.url).path).name

    @property
    def domain(self) -> str:
        return urlparse(self.url).netloc

    # --- the active range -----------------------------------------------------------

    def _window(self) -> _Window:
        if self._active is None:
            raise ValueError("Cannot get active range response (no active range)")
        return self._active

    def set_active_range(self, byte_range: Any) -> None:
        start, end = self._resolve(*_pair(byte_range))
        for window in self._windows:
            if window.start == start and window.end == end:
                self._active = window
                return
        raise ValueError(f"{byte_range!r} is not a range of the stream")

    def read(self, size: Optional[int] = None) -> bytes:
        """Up to ``size`` bytes (all the rest of the active range when None) from its position."""
        window = self._window()
        n = window.remaining() if size is None or size < 0 else min(size, window.remaining())
        at = window.start + window.pos
        if window.own is not None:
            data = window.own[window.pos : window.pos + n]
        else:
            data = self._reader.span(at, at + n, True)
        window.pos += len(data)
        return data

    def seek(self, position: int, whence: int = io.SEEK_SET) -> None:
        """Moves the position within the active range (``SEEK_END``: from its end)."""
        window = self._window()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: window.pos, io.SEEK_END: window.end - window.start}
        if whence not in base:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        target = base[whence] + position
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        window.pos = target

    def tell(self) -> int:
        """The position within the active range."""
        return self._window().pos

    def close(self) -> None:
        self._reader.close()

    def __repr__(self) -> str:
        ranges = ", ".join(f"[{s}, {e})" for s, e in self.ranges)
        return f"RangeStream ⠶ {ranges} @@ '{self.name}' from {self.domain}"
