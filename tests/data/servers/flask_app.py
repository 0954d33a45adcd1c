"""Flask serving a directory with send_file (Werkzeug's ranges), for rangecat's dialect tests,
and under /stream/ as a generator (no length), for tests/serve_dialects.rs.

Environment: RANGECAT_ROOT, the directory served. gunicorn's access log shows each request
(tests/util/real_server.rs gives it a format with the Range header).
"""

import os

from flask import Flask, Response, abort, send_file

ROOT = os.path.realpath(os.environ["RANGECAT_ROOT"])
app = Flask(__name__)


@app.route("/<path:path>")
def serve(path):
    full = os.path.realpath(os.path.join(ROOT, path))
    if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
        abort(404)
    return send_file(full, conditional=True)


@app.route("/stream/<path:path>")
def stream(path):
    """The file in 64 KiB pieces with no length: gunicorn sends it chunked."""
    full = os.path.realpath(os.path.join(ROOT, path))
    if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
        abort(404)

    def pieces():
        with open(full, "rb") as file:
            while piece := file.read(65536):
                yield piece

    return Response(pieces(), mimetype="application/octet-stream")
