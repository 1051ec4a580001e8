"""An ASGI middleware that refuses request bodies over a size limit before they are read whole.

A declared Content-Length over the limit is answered 413 at once; a body that streams past the
limit (chunked, or a lying Content-Length) is cut off and answered 413 as well.
"""

import json

from starlette.exceptions import HTTPException


class BodyTooLargeError(HTTPException):
    """The request body went past the limit while it was being read (an HTTP 413, so that the
    framework's own error handling answers it even when it happens inside body parsing)."""

    def __init__(self, detail: str):
        super().__init__(413, detail)


class BodySizeLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes:,} bytes; send a smaller image"

    async def _refuse(self, send) -> None:
        body = json.dumps({"detail": self._message()}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

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
