"""The test helper server itself: closing it ends every connection and handler thread, and nothing it does
afterwards can print into a later test's stderr (CI once failed a one-line-error test that way)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

from .openai_server import OpenAIServer, completion


def _post(port: int, timeout: float) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("POST", "/v1/chat/completions", body=json.dumps({"messages": []}),
                       headers={"Content-Type": "application/json"})
    return connection


def test_closing_ends_keep_alive_connections_and_their_threads():
    before = threading.active_count()
    with OpenAIServer(lambda body, n: (200, completion("ok"))) as server:
        port = server.httpd.server_address[1]
        kept = _post(port, timeout=5)
        assert json.loads(kept.getresponse().read())["choices"][0]["message"]["content"] == "ok"
        # the connection stays open (keep-alive) and its handler thread waits for the next request
        assert any(t.is_alive() for t in server.httpd.handlers)
    assert not any(t.is_alive() for t in server.httpd.handlers)
    assert threading.active_count() <= before
    kept.close()


def test_a_client_that_hangs_up_mid_reply_prints_nothing(capfd):
    with OpenAIServer(lambda body, n: (200, completion("x" * 200_000)), delay_s=0.3) as server:
        port = server.httpd.server_address[1]
        impatient = _post(port, timeout=0.05)
        try:
            impatient.getresponse()
        except (socket.timeout, TimeoutError):
            pass
        impatient.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        impatient.close()  # linger 0: a reset, so the handler's write fails
        time.sleep(0.5)
    assert capfd.readouterr().err == "" and server.errors == []


def test_a_pooled_connection_used_after_the_test_reaches_no_handler(capfd):
    """The CI failure: a client's pooled keep-alive connection outlived its test, was used later, and the old
    server's still-running handler printed a traceback into another test's captured stderr."""
    def script(body, n):
        if n > 1:
            raise ValueError("served after the server was closed")
        return 200, completion("ok")
    with OpenAIServer(script) as server:
        pooled = _post(server.httpd.server_address[1], timeout=5)
        pooled.getresponse().read()
    try:
        pooled.request("POST", "/v1/chat/completions", body=b"{}", headers={"Content-Type": "application/json"})
        pooled.getresponse()
    except (http.client.HTTPException, OSError):
        pass  # the connection was closed with the server
    time.sleep(0.2)
    pooled.close()
    assert capfd.readouterr().err == "" and len(server.requests) == 1


def test_an_error_in_the_script_is_kept_not_printed(capfd):
    def script(body, n):
        raise ValueError("script bug")
    with OpenAIServer(script) as server:
        connection = _post(server.httpd.server_address[1], timeout=5)
        try:
            connection.getresponse()
        except (http.client.HTTPException, ConnectionError):
            pass
        connection.close()
        deadline = time.time() + 5
        while not server.errors and time.time() < deadline:
            time.sleep(0.01)
    assert capfd.readouterr().err == ""
    assert [str(e) for e in server.errors] == ["script bug"]
