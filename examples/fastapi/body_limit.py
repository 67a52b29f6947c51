"""The request body cap (1 MiB) as ASGI middleware: 413 before anything parses
the body, checked on ``Content-Length`` and on the bytes actually read, so a
chunked body (no ``Content-Length``) cannot get past it either.

Before answering 413 the rest of a moderately large body (up to 16 MiB in
all) is read and dropped: a server that closes while the client still sends
makes the client's TCP stack reset the connection, and the client would see
that instead of the 413. A larger body gets the 413 at once, and the close."""

from __future__ import annotations


from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The largest request body accepted, in bytes.
MAX_BODY_BYTES = 1 << 20
#: Bytes of a refused body read (and dropped) so that the client gets the 413.
DRAIN_BYTES = 16 << 20
TOO_LARGE = {"detail": "request body over 1 MiB", "code": "BODY_TOO_LARGE"}


class BodyLimitMiddleware:
    """Reads a request's body (at most `max_bytes` + 1 bytes) before the app
    runs and hands it on in one message; a larger one is answered 413."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = None, False
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length" and value.strip().isdigit():
                length = int(value)
            elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None and length > self.max_bytes:
            if length <= DRAIN_BYTES:
                await drain(receive, DRAIN_BYTES)
            await too_large(scope, receive, send)
            return
        if not chunked and not length:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nothing to answer
            body: bytes = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await drain(receive, DRAIN_BYTES - size)
                await too_large(scope, receive, send)
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        first: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            # The whole body once, then the server's own messages (disconnect).
            return first.pop() if first else await receive()

        await self.app(scope, replay, send)


async def drain(receive: Receive, limit: int) -> None:
    """Reads and drops the rest of the body, at most `limit` bytes."""
    while limit > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        limit -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse(TOO_LARGE, 413, headers={"connection": "close"})(scope, receive, send)
