"""Flask serving a directory with send_file (Werkzeug's ranges), for rangecat's dialect tests.

Environment: RANGECAT_ROOT, the directory served. gunicorn's access log shows each request
(tests/util/real_server.rs gives it a format with the Range header).
"""

import os

from flask import Flask, abort, send_file

ROOT = os.path.realpath(os.environ["RANGECAT_ROOT"])
app = Flask(__name__)


@app.route("/<path:path>")
def serve(path):
    full = os.path.realpath(os.path.join(ROOT, path))
    if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
        abort(404)
    return send_file(full, conditional=True)
