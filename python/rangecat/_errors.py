"""The exceptions rangecat raises: every failure is a :class:`rangecat.Error` (an
:class:`OSError`), never a bare :class:`RuntimeError`."""

import builtins
from typing import Optional


class Error(OSError):
    """A rangecat failure: the message is the command line's one-line error."""


class HTTPStatusError(Error):
    """The server answered with a status that is not a success for the request; for an
    ``s3://`` URL, the message names the store's error code (``404 NoSuchKey``)."""

    status: Optional[int] = None
    """The status code."""
    url: Optional[str] = None
    """The URL that answered, any password and signed query parameters replaced (for an
    object store, the ``s3://`` URL)."""


class ChangedError(Error):
    """The resource changed between two requests (its validators or its length)."""


class RangeError(Error, ValueError):
    """A RANGE that does not parse, or one outside the resource where that is an error."""


class TimeoutError(Error, builtins.TimeoutError):
    """A connection or a read took longer than ``timeout``/``connect_timeout``."""


class NetworkError(Error, ConnectionError):
    """The connection failed or broke beyond the retries."""


class ZipError(Error):
    """Not a zip archive, or a damaged one."""
