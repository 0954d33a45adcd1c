"""moto's S3 server for the s3:// tests (tests/util/s3_server/moto.rs): moto.server's own WSGI
app and request handler under werkzeug, as `python -m moto.server` runs them, plus an access
log.

Usage: python moto_app.py PORT LOG

LOG gets one line per request, written before the answer goes out, tab-separated: method, path
as sent (still percent-encoded), query string, Range header (or -), status. werkzeug's own
access log (stderr) shows neither the Range header nor, split out, the query string. Requests
with an X-Rangecat-Setup header (the harness's own uploads) are not logged.
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

PORT = int(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
LOG_LOCK = threading.Lock()


class LogRequests:
    """Writes one access-log line per request when its answer starts."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if "HTTP_X_RANGECAT_SETUP" in environ:
            return self.app(environ, start_response)
        # REQUEST_URI is the request target as sent; PATH_INFO is decoded.
        path, _, query = environ["REQUEST_URI"].partition("?")
        range_ = environ.get("HTTP_RANGE", "-")

        def logged_start_response(status, headers, exc_info=None):
            line = "\t".join([environ["REQUEST_METHOD"], path, query, range_, status.split()[0]])
            with LOG_LOCK:
                LOG.write(line.replace("\n", " ") + "\n")
            return start_response(status, headers, exc_info)

        return self.app(environ, logged_start_response)


# As moto.server.main does.
os.environ["MOTO_PORT"] = str(PORT)
app = DomainDispatcherApplication(create_backend_app)
app.debug = True

run_simple(
    "127.0.0.1",
    PORT,
    LogRequests(app),
    threaded=True,
    request_handler=MotoRequestHandler,
)
