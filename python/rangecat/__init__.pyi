import io
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._errors import ChangedError as ChangedError
from ._errors import Error as Error
from ._errors import HTTPStatusError as HTTPStatusError
from ._errors import NetworkError as NetworkError
from ._errors import RangeError as RangeError
from ._errors import TimeoutError as TimeoutError
from ._errors import ZipError as ZipError

_Location = Union[str, os.PathLike[str]]
_Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
# A (start, end) half-open tuple (negative from the end, None open), an object with
# `start` and `end` (python-ranges' Range), or a RANGE string ("-1KiB:", "0x200+512").
_RangeLike = Union[str, Tuple[Optional[int], Optional[int]], Any]

DEFAULT_MAX_BUFFER: int

class RangeFile(io.RawIOBase):
    @property
    def url(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def requests(self) -> int: ...
    def readinto(self, buffer: Any) -> int: ...
    def read(self, size: Optional[int] = -1) -> bytes: ...
    def readall(self) -> bytes: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...
    def tell(self) -> int: ...

def open(
    url: _Location,
    *,
    headers: _Headers = None,
    max_buffer: int = ...,
    timeout: Optional[float] = 30.0,
    connect_timeout: Optional[float] = 10.0,
    retries: int = 1,
) -> RangeFile: ...
def read_ranges(
    url: _Location,
    ranges: Iterable[_RangeLike],
    *,
    multipart: bool = False,
    jobs: int = 1,
    gap: int = 0,
    headers: _Headers = None,
    timeout: Optional[float] = 30.0,
    connect_timeout: Optional[float] = 10.0,
    retries: int = 1,
) -> List[bytes]: ...
def list_zip(
    url: _Location,
    *,
    headers: _Headers = None,
    timeout: Optional[float] = 30.0,
    connect_timeout: Optional[float] = 10.0,
    retries: int = 1,
) -> List[Dict[str, Any]]: ...

class RangeStream:
    url: str
    pruning_level: int
    single_request: bool
    chunk_size: Optional[int]
    disjoint: bool
    def __init__(
        self,
        url: str,
        byte_range: Any = (0, 0),
        *args: Any,
        disjoint: bool = True,
        headers: _Headers = None,
        timeout: Optional[float] = 30.0,
        connect_timeout: Optional[float] = 10.0,
        retries: int = 1,
        client: Any = None,
        pruning_level: int = 0,
        single_request: bool = False,
        force_async: bool = False,
        chunk_size: Optional[int] = None,
        raise_response: bool = True,
    ) -> None: ...
    def add(self, byte_range: Any = (0, 0), activate: bool = True, name: str = "") -> None: ...
    @property
    def ranges(self) -> List[Tuple[int, int]]: ...
    def list_ranges(self) -> List[Tuple[int, int]]: ...
    def isempty(self) -> bool: ...
    @property
    def spanning_range(self) -> Tuple[int, int]: ...
    @property
    def total_range(self) -> Tuple[int, int]: ...
    @property
    def total_bytes(self) -> Optional[int]: ...
    @property
    def name(self) -> str: ...
    @property
    def domain(self) -> str: ...
    def set_active_range(self, byte_range: Any) -> None: ...
    def read(self, size: Optional[int] = None) -> bytes: ...
    def seek(self, position: int, whence: int = 0) -> None: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...
