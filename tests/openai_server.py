"""A real local HTTP server speaking the OpenAI chat-completions protocol, for tests.

``script(request_json, n)`` decides each reply: return ``(status, body_dict)`` (or raw ``bytes``); ``n`` is
the 1-based count of requests so far. The server listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Script = Callable[[dict[str, Any], int], tuple[int, dict[str, Any]]]


def completion(content: str, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict[str, Any]:
    return {"id": "cmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "test-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


class _Server(ThreadingHTTPServer):
    """Tracks its connections and handler threads so that closing it ends them all: a keep-alive connection
    left in a client's pool must not outlive the test and print a traceback into a later test's stderr."""

    request_queue_size = 256  # socketserver's default backlog of 5 would stall concurrent clients
    daemon_threads = True

    def server_activate(self) -> None:
        super().server_activate()
        self.connections: list[socket.socket] = []
        self.handlers: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.track = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self.track:
            self.connections.append(request)
            self.handlers.append(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Kept in ``errors`` rather than printed from a thread into whichever test is running; a client that
        hangs up (reset, broken pipe) is not an error."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError):
            self.errors.append(error)

    def close_all(self) -> None:
        self.shutdown()
        with self.track:
            connections, handlers = list(self.connections), list(self.handlers)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its handler
        for thread in handlers:
            thread.join(timeout=10)
        self.server_close()


class OpenAIServer:
    def __init__(self, script: Script, delay_s: float = 0.0) -> None:
        self.script, self.delay_s = script, delay_s
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
            disable_nagle_algorithm = True  # no delayed-ACK stalls on small replies

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802  (GET /count: requests served so far)
                data = json.dumps({"requests": len(server.requests)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    n = len(server.requests)
                if server.delay_s:
                    time.sleep(server.delay_s)
                status, reply = server.script(body, n)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()  # bytes: sent as they are
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "OpenAIServer":
        self.thread.start()
        return self

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised while handling a request (the script's included)."""
        return self.httpd.errors

    def __exit__(self, *exc: Any) -> None:
        self.httpd.close_all()
