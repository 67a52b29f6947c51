"""API keys: the keys file (``CLAUDE_JOBS_API_KEYS_FILE``) and the ASGI
middleware that checks ``Authorization: Bearer <key>`` on every request.

The file has one ``tenant:sha256hex-of-key`` a line (blank lines and ``#``
comments ignored); keys are never stored in clear. Make a line with::

    printf 'team-a:%s\\n' "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" >> keys

A presented key is hashed and compared in constant time with every entry
(``hmac.compare_digest``, never stopping at the first match). The key's tenant
is put in the request's scope (:func:`access.tenant_of` reads it).

Open without a key: ``GET /health``, ``/metrics`` with
``CLAUDE_JOBS_METRICS_PUBLIC=1``, and the dashboard's page (``GET /``,
``GET /jobs/<id>``, ``/assets/…``), which asks for the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: Where the middleware puts the request's tenant (None: no keys file).
TENANT_SCOPE_KEY = "claude_jobs.tenant"
TENANT_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
UNAUTHORIZED = {"detail": "missing or wrong API key", "code": "UNAUTHORIZED"}
#: Paths of the dashboard's page (a single-page app: /jobs/<id> is the same page).
PAGE_PATH = re.compile(r"/(jobs/[^/]+/?)?")


class KeysFileError(ValueError):
    """The keys file cannot be read or has a malformed line (the message names both)."""


@dataclass(frozen=True)
class KeyEntry:
    tenant: str
    #: SHA-256 of the key (32 bytes).
    digest: bytes


def load_keys(path: Path) -> list[KeyEntry]:
    """The entries of a keys file. Raises `KeysFileError` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise KeysFileError(f"CLAUDE_JOBS_API_KEYS_FILE {path}: cannot read it: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise KeysFileError(f"CLAUDE_JOBS_API_KEYS_FILE {path}: not UTF-8 text") from None
    entries: list[KeyEntry] = []
    seen: dict[bytes, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"CLAUDE_JOBS_API_KEYS_FILE {path} line {n}"
        tenant, colon, digest = line.partition(":")
        tenant, digest = tenant.strip(), digest.strip()
        if not colon:
            raise KeysFileError(f"{where}: expected tenant:sha256hex-of-key (no colon)")
        if not TENANT_NAME.fullmatch(tenant):
            raise KeysFileError(f"{where}: the tenant {tenant!r} must be 1 to 64 of A-Z a-z 0-9 . _ -")
        if not SHA256_HEX.fullmatch(digest):
            raise KeysFileError(f"{where}: expected the SHA-256 of the key as 64 hex digits (never the key itself)")
        d = bytes.fromhex(digest)
        if d in seen:
            raise KeysFileError(f"{where}: the same key as line {seen[d]}: one key, one tenant")
        seen[d] = n
        entries.append(KeyEntry(tenant, d))
    return entries


def tenant_for(entries: list[KeyEntry], key: str) -> Optional[str]:
    """The tenant of `key`, or None; compares with every entry in constant time."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
    found: Optional[str] = None
    for e in entries:
        if hmac.compare_digest(e.digest, digest) and found is None:
            found = e.tenant
    return found


def bearer(scope: Scope) -> Optional[str]:
    """The key of an ``Authorization: Bearer <key>`` header."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            text: str = bytes(value).decode("latin-1")
            scheme, _, key = text.strip().partition(" ")
            if scheme.lower() == "bearer" and key.strip():
                return key.strip()
    return None


class AuthMiddleware:
    """401 for every request without a known key (but the open paths); the
    key's tenant in ``scope[TENANT_SCOPE_KEY]``. Without keys (None) every
    request passes with tenant None."""

    def __init__(self, app: ASGIApp, keys: Optional[list[KeyEntry]], metrics_public: bool) -> None:
        self.app = app
        self.keys = keys
        self.metrics_public = metrics_public

    def is_open(self, scope: Scope) -> bool:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            return False
        if path == "/health" or path.startswith("/assets/") or PAGE_PATH.fullmatch(path):
            return True
        return path == "/metrics" and self.metrics_public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        tenant: Optional[str] = None
        if self.keys is not None:
            key = bearer(scope)
            tenant = tenant_for(self.keys, key) if key is not None else None
            if tenant is None and not self.is_open(scope):
                await unauthorized(scope, receive, send)
                return
        scope[TENANT_SCOPE_KEY] = tenant
        await self.app(scope, receive, send)


async def unauthorized(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await JSONResponse(UNAUTHORIZED, 401, headers={"www-authenticate": "Bearer"})(scope, receive, send)
