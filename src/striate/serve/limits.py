"""ASGI middlewares that refuse oversized requests with a clear status instead of a dropped connection.

BodySizeLimit: a declared Content-Length over the limit is answered 413 at once; a body that streams
past the limit (chunked, or a lying Content-Length) is cut off and answered 413 as well.

RequestHeadLimit: a request target (path and query) over 8 KiB is answered 414 (URI Too Long) and a
header section over 16 KiB is answered 431 (Request Header Fields Too Large). uvicorn's h11 parser
would otherwise drop such a request itself (a 400 and a reset connection, depending on how the bytes
arrive), so the server is started with room for a request head of up to 1 MiB
(H11_MAX_INCOMPLETE_EVENT_SIZE, see striate.serve.server) and the limits are enforced here.
"""

import json

from starlette.exceptions import HTTPException


class BodyTooLargeError(HTTPException):
    """The request body went past the limit while it was being read (an HTTP 413, so that the
    framework's own error handling answers it even when it happens inside body parsing)."""

    def __init__(self, detail: str):
        super().__init__(413, detail)


MAX_TARGET_BYTES = 8 * 1024  # the request line's target: path and query string
MAX_HEADER_BYTES = 16 * 1024  # all header lines together, as "name: value\r\n"
H11_MAX_INCOMPLETE_EVENT_SIZE = 1024 * 1024  # what the parser buffers before it gives up on a request head


async def _send_json(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RequestHeadLimit:
    """Answers 414 when the request target is longer than ``max_target_bytes`` and 431 when the
    header section is larger than ``max_header_bytes``, before the app sees the request."""

    def __init__(self, app, max_target_bytes: int = MAX_TARGET_BYTES, max_header_bytes: int = MAX_HEADER_BYTES):
        self.app = app
        self.max_target_bytes = max_target_bytes
        self.max_header_bytes = max_header_bytes

    @staticmethod
    def target_bytes(scope) -> int:
        path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
        query = scope.get("query_string", b"")
        return len(path) + (1 + len(query) if query else 0)

    @staticmethod
    def header_bytes(scope) -> int:
        return sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if self.target_bytes(scope) > self.max_target_bytes:
                return await _send_json(send, 414, f"the URL is longer than the limit of {self.max_target_bytes:,} bytes")
            if self.header_bytes(scope) > self.max_header_bytes:
                return await _send_json(send, 431, f"the request headers are larger than the limit of "
                                                   f"{self.max_header_bytes:,} bytes")
        return await self.app(scope, receive, send)


class BodySizeLimit:
    def __init__(self, app, max_bytes: int, remedy: str = "send a smaller image"):
        self.app = app
        self.max_bytes = max_bytes
        self.remedy = remedy  # the second half of the 413 line: what the sender can do

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes:,} bytes; {self.remedy}"

    async def _refuse(self, send) -> None:
        await _send_json(send, 413, self._message())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self._message())
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLargeError:
            if not started:
                await self._refuse(send)
