"""Starlette serving a directory with FileResponse, for tests/dialects.rs, and under /stream/
with StreamingResponse (no length), for tests/serve_dialects.rs.

Environment: RANGECAT_ROOT, the directory served; RANGECAT_LOG, the access log: one line per
request once answered, tab-separated: method, path, Range header (or -), status, body bytes.
uvicorn's own access log does not show the Range header, hence the middleware.
"""

import os

from starlette.applications import Starlette
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

ROOT = os.path.realpath(os.environ["RANGECAT_ROOT"])
LOG = open(os.environ["RANGECAT_LOG"], "a", buffering=1)


async def serve(request):
    path = os.path.realpath(os.path.join(ROOT, request.path_params["path"]))
    if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
        return Response("not found\n", status_code=404)
    return FileResponse(path)


async def stream(request):
    """The file in 64 KiB pieces with no length: uvicorn sends it chunked."""
    path = os.path.realpath(os.path.join(ROOT, request.path_params["path"]))
    if not path.startswith(ROOT + os.sep) or not os.path.isfile(path):
        return Response("not found\n", status_code=404)

    async def pieces():
        with open(path, "rb") as file:
            while piece := file.read(65536):
                yield piece

    return StreamingResponse(pieces(), media_type="application/octet-stream")


class LogRanges:
    """Writes one access-log line per request once its answer is sent."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        answer = {"status": 0, "bytes": 0}

        async def logged_send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            range_ = dict(scope["headers"]).get(b"range", b"-").decode("latin-1")
            LOG.write(f"{scope['method']}\t{scope['path']}\t{range_}\t{answer['status']}\t{answer['bytes']}\n")


app = LogRanges(
    Starlette(
        routes=[
            Route("/stream/{path:path}", stream, methods=["GET"]),
            Route("/{path:path}", serve, methods=["GET", "HEAD"]),
        ]
    )
)
