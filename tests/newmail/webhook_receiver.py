"""A small local HTTP server playing a host application's webhook endpoint.

It checks each request the way a receiver should (HMAC-SHA256 of the body with the secret it
was given) and answers with the statuses a test queues (200 when none is queued).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fixtures.http_server import QuietHandler, serving


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-postroom-signature", ""))


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/postroom?source=test"


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    lock = threading.Lock()
    state = Receiver(port=0)

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server calls it so)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = state.statuses.pop(0) if state.statuses else 200
            answer = b'{"ok": true}' if status < 300 else b"Service busy, try later"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    with serving(Handler) as port:
        state.port = port
        yield state
