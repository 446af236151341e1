"""A per-instance endpoint: a TCP proxy that points every session at one database of the cluster.

The twin runs one PostgreSQL cluster and gives each RDS instance its own database in it. An
application configured like production (dbname=invenio on the instance's endpoint) must land
in that instance's database, so the proxy rewrites the `database` of the StartupMessage and
then only pipes bytes. Good looks like: psycopg with its defaults (sslmode=prefer) connects
through it unchanged, and after `stop()` the port refuses connections and live sessions are
cut, as for a deleted instance.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading

log = logging.getLogger(__name__)

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
# Protocol 3.x (196608 is 3.0; libpq 18 may ask for 3.2): the major version is what matters.
PROTOCOL_MAJOR = 3
_MAX_STARTUP_LEN = 10_000  # the server's own limit for a startup packet
_BUFFER = 65536


class DatabaseProxy:
    """Forwards 127.0.0.1:<port> to `upstream_host:upstream_port`, forcing database `database`.

    Thread-based: one acceptor thread plus two pump threads per session. `user`, `password`
    and every other startup parameter pass through untouched, so authentication stays real.
    """

    def __init__(self, listen_host: str, upstream_host: str, upstream_port: int, database: str) -> None:
        self.listen_host = listen_host
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.database = database
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"proxy for database {self.database!r} is not started")
        return self._port

    def start(self, port: int = 0) -> int:
        """Listen on `listen_host:port` (0 = any free port) and return the bound port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A restarted instance gets its old endpoint back even with connections in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.listen_host, port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._port = int(listener.getsockname()[1])
        # A socketpair wakes the acceptor on stop(): closing a socket does not wake accept().
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"pgproxy-{self._port}-accept", daemon=True)
        self._acceptor.start()
        log.debug(
            "proxy %s:%s -> %s:%s database %s",
            self.listen_host,
            self._port,
            self.upstream_host,
            self.upstream_port,
            self.database,
        )
        return self._port

    def stop(self) -> None:
        """Close the listener and cut every live session. Idempotent."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        listener.close()
        with self._lock:
            live = list(self._sockets)
            self._sockets.clear()
        for sock in live:
            _close(sock)
        for wake in (self._wake_r, self._wake_w):
            if wake is not None:
                wake.close()
        self._wake_r = self._wake_w = self._acceptor = None
        log.debug("proxy on port %s stopped, %d socket(s) cut", self._port, len(live))

    def __enter__(self) -> DatabaseProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- internals

    def _accept_loop(self) -> None:
        listener, wake = self._listener, self._wake_r
        if listener is None or wake is None:
            return
        while True:
            readable, _, _ = select.select([listener, wake], [], [])
            if wake in readable:
                return
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._listener is None:
                _close(sock)
                return False
            self._sockets.add(sock)
            return True

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _close(sock)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            packet = self._negotiate(client)
            if packet is None:
                self._forget(client)
                return
            try:
                upstream = socket.create_connection((self.upstream_host, self.upstream_port), timeout=10)
            except OSError as exc:
                client.sendall(_error_response("08006", f"twin proxy: upstream unreachable: {exc}"))
                self._forget(client)
                return
            upstream.settimeout(None)
            if not self._track(upstream):
                self._forget(client)
                return
            upstream.sendall(packet)
        except OSError as exc:
            log.debug("proxy session ended during startup: %s", exc)
            self._forget(client)
            if upstream is not None:
                self._forget(upstream)
            return
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _negotiate(self, client: socket.socket) -> bytes | None:
        """Answer encryption requests with 'N' and return the startup packet to send upstream."""
        while True:
            header = _recv_exact(client, 8)
            if header is None:
                return None
            length, code = struct.unpack("!ii", header)
            if not 8 <= length <= _MAX_STARTUP_LEN:
                client.sendall(_error_response("08P01", f"twin proxy: invalid startup packet length {length}"))
                return None
            body = _recv_exact(client, length - 8)
            if body is None:
                return None
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                # No TLS on loopback; libpq with sslmode=prefer then continues in clear text.
                client.sendall(b"N")
                continue
            if code == CANCEL_REQUEST:
                return header + body
            if code >> 16 != PROTOCOL_MAJOR:
                client.sendall(_error_response("08P01", f"twin proxy: unsupported protocol {code}"))
                return None
            return _rewrite_startup(code, body, self.database)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(_BUFFER)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass  # the other pump or stop() closed a socket: the session is over either way
        finally:
            self._forget(source)
            self._forget(sink)


def _rewrite_startup(code: int, body: bytes, database: str) -> bytes:
    """StartupMessage with `database` replaced (or added); other parameters kept in order."""
    parts = body.split(b"\x00")
    # body is key\0value\0...key\0value\0\0, so split leaves two empty strings at the end.
    pairs = [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 2, 2) if parts[i]]
    wanted = database.encode()
    params = [(key, wanted if key == b"database" else value) for key, value in pairs]
    if not any(key == b"database" for key, _ in params):
        params.append((b"database", wanted))
    payload = b"".join(key + b"\x00" + value + b"\x00" for key, value in params) + b"\x00"
    return struct.pack("!ii", len(payload) + 8, code) + payload


def _error_response(code: str, message: str) -> bytes:
    fields = b"".join(
        tag + value.encode() + b"\x00"
        for tag, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    fields += b"\x00"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _close(sock: socket.socket) -> None:
    # shutdown first: it wakes a thread blocked in recv() on this socket, close() alone does not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
