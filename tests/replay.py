"""A real local HTTP server that answers recorded responses, for the API connectors' tests.

Responses are queued per path (query string ignored unless a route names one): each request
takes the next queued answer, the last one repeating. Every request is kept (method, path,
query, headers, body) so a test can assert what a connector asked for.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _answer(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                server.seen.append(
                    Seen(
                        self.command,
                        parts.path,
                        urllib.parse.parse_qs(parts.query),
                        dict(self.headers),
                        json.loads(raw) if raw else None,
                    )
                )
                queue = server.routes.get(f"{parts.path}?{parts.query}") or server.routes.get(
                    parts.path
                )
                if not queue:
                    answer = Answer({"message": f"no recorded answer for {self.path}"}, 404)
                else:
                    answer = queue.pop(0) if len(queue) > 1 else queue[0]
                payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in answer.headers.items():
                    self.send_header(key, value.replace("{base}", server.url))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _answer
            do_POST = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def route(self, path: str, *answers: Answer) -> None:
        """Queue answers for a path (or `path?query` to match one query string exactly)."""
        self.routes.setdefault(path, []).extend(answers)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
