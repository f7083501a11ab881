"""Who may do what: a bearer token, loopback rules, CORS off by default.

- Reads (search, ask, media, info) from loopback clients of a server bound to
  loopback need nothing.
- Anything else needs the token: reads from other machines, every read when
  the server binds beyond loopback, and add/remove always (admin).
- The token comes from ``serve.token`` (config / ``MMRAG_SERVE_TOKEN``) or is
  generated at start; it is sent as ``Authorization: Bearer TOKEN`` (or
  ``?token=`` for ``<img>``/``<video>`` tags, which cannot set headers).

A missing token answers 401, a wrong one 403. Tokens are compared in
constant time.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Guard:
    token: str
    bind_host: str

    def _presented(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.query_params.get("token") or request.headers.get("x-mmrag-token")

    def _check(self, request: Request, needed: bool) -> None:
        given = self._presented(request)
        if given is None:
            if not needed:
                return
            raise HTTPException(
                401,
                "this needs the server's token: send 'Authorization: Bearer TOKEN' "
                "(printed by `mmrag serve`, or set serve.token / MMRAG_SERVE_TOKEN).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not secrets.compare_digest(given.encode("utf-8"), self.token.encode("utf-8")):
            raise HTTPException(403, "wrong token. Use the one `mmrag serve` printed (or serve.token).")

    def read(self, request: Request) -> None:
        """Reads: free on loopback, token elsewhere."""
        client = request.client.host if request.client else None
        needed = not (is_loopback(self.bind_host) and is_loopback(client))
        self._check(request, needed)

    def admin(self, request: Request) -> None:
        """Writes (add, remove): always the token."""
        self._check(request, True)


__all__ = ["Guard", "is_loopback", "new_token"]
