"""Test helper: an HTTP proxy in front of an S3 server that counts requests and injects faults.

Not a test module. Use `with FaultProxy(server.endpoint_url) as proxy: ...` and point boto3 at
`proxy.url`. The proxy forwards every request unchanged (Host included, so SigV4 signatures
still validate), answers `Expect: 100-continue` itself and relays chunked request bodies
verbatim. Faults, matched by method and path/query substrings, each used `times` times:

- "500": InternalError, "503": SlowDown (both after reading the body, never forwarded);
- "reset": TCP reset instead of an answer (not forwarded);
- "reset-after": forwarded (the server stores it), then a reset instead of the answer;
- "truncate": forwarded, then half of the response body and a closed connection;
- "delay": no answer for `delay_s`, then a closed connection (a read timeout for the client).
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "expect", "te", "upgrade"}
_ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    "<RequestId>faultproxy</RequestId></Error>"
)
ACTIONS = ("500", "503", "reset", "reset-after", "truncate", "delay")


@dataclass
class Fault:
    action: str
    method: str | None = None
    path_contains: str = ""
    query_contains: str = ""
    times: int = 1  # negative: forever
    delay_s: float = 0.0

    def matches(self, method: str, path: str, query: str) -> bool:
        return (
            self.times != 0
            and (self.method is None or self.method == method)
            and self.path_contains in path
            and self.query_contains in query
        )


@dataclass(frozen=True)
class Seen:
    """One request the proxy received."""

    method: str
    path: str
    query: str
    body_bytes: int  # decoded body size (chunk framing excluded)
    fault: str | None  # the injected fault, None when forwarded untouched
    forwarded: bool  # the upstream server received it
    status: int | None  # status relayed to the client, None when there was no answer


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(
        self,
        action: str,
        *,
        method: str | None = None,
        path_contains: str = "",
        query_contains: str = "",
        times: int = 1,
        delay_s: float = 0.0,
    ) -> Fault:
        if action not in ACTIONS:
            raise ValueError(f"unknown fault {action!r}; one of {ACTIONS}")
        fault = Fault(action, method, path_contains, query_contains, times, delay_s)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        """Forget the faults and the requests seen so far."""
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def _take_fault(self, method: str, path: str, query: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, query):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def writes(self) -> list[Seen]:
        """PUT and POST requests the upstream server received (uploads, multipart steps)."""
        with self._lock:
            return [r for r in self.requests if r.forwarded and r.method in ("PUT", "POST")]

    def uploaded_bytes(self) -> int:
        return sum(r.body_bytes for r in self.writes())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and handle_expect_100 answers 100 Continue
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def proxy(self) -> FaultProxy:
        return self.server.proxy  # type: ignore[attr-defined, no-any-return]

    def do_GET(self) -> None:
        self._relay()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def _read_body(self) -> tuple[bytes, int]:
        """The raw body as received (chunk framing kept) and its decoded size."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raw = bytearray()
            size_total = 0
            while True:
                line = self.rfile.readline()
                raw += line
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, then the blank line
                        trailer = self.rfile.readline()
                        raw += trailer
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    return bytes(raw), size_total
                raw += self.rfile.read(size + 2)
                size_total += size
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        return body, len(body)

    def _abort(self, rst: bool) -> None:
        self.close_connection = True
        if rst:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send_error_xml(self, status: int, code: str, message: str) -> None:
        body = _ERROR_XML.format(code=code, message=message).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _relay(self) -> None:
        path, _, query = self.path.partition("?")
        body, body_bytes = self._read_body()
        fault = self.proxy._take_fault(self.command, path, query)
        action = fault.action if fault else None

        def record(forwarded: bool, status: int | None) -> None:
            self.proxy._record(Seen(self.command, path, query, body_bytes, action, forwarded, status))

        # Record before answering: the client may look at the counts as soon as it has its answer.
        if action in ("500", "503"):
            status, code = (500, "InternalError") if action == "500" else (503, "SlowDown")
            record(False, status)
            self._send_error_xml(status, code, "injected by the test fault proxy")
            return
        if action == "reset":
            record(False, None)
            self._abort(rst=True)
            return
        if action == "delay":
            record(False, None)
            time.sleep(fault.delay_s if fault else 0)
            self._abort(rst=False)
            return

        conn = http.client.HTTPConnection(*self.proxy.upstream, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders()
            if body:
                conn.send(body)
            resp = conn.getresponse()
            payload = resp.read()
            headers = resp.getheaders()
        finally:
            conn.close()
        if action == "reset-after":
            record(True, None)
            self._abort(rst=True)
            return
        record(True, resp.status)
        self.send_response_only(resp.status, resp.reason)
        for name, value in headers:
            low = name.lower()
            if low in _HOP_BY_HOP or low == "transfer-encoding" or (low == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if action == "truncate" and len(payload) > 1:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self._abort(rst=False)
            return
        self.wfile.write(payload)
