"""A minimal HTTP/1.1 keep-alive client on a raw socket.

``http.client`` costs a few hundred microseconds of CPU per request (email header parsing,
buffered file objects); on a 2-core machine the load generator's CPU is taken from the server
it measures, so the benchmark speaks just enough HTTP itself: requests are formatted in one
string, responses parsed for the status line, Content-Length and chunked bodies.
"""

import socket


class HTTPError(Exception):
    """The connection failed or the server sent something this client cannot parse."""


class Response:
    __slots__ = ('status', 'body')

    def __init__(self, status, body):
        self.status = status
        self.body = body


class Connection:
    """One persistent connection to ``host:port``; reconnects when the server closed it."""

    def __init__(self, host, port, timeout=60.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.buf = b''
        self.host_header = '%s:%d' % (host, port)

    def _connect(self):
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buf = b''

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b''

    def request(self, method, path, headers, body=b''):
        """Send one request and read its response; retries once on a stale connection."""
        head = ['%s %s HTTP/1.1\r\nHost: %s\r\n' % (method, path, self.host_header)]
        head.append(headers)
        if body or method in ('POST', 'PUT'):
            head.append('Content-Length: %d\r\n' % len(body))
        head.append('\r\n')
        data = ''.join(head).encode('latin-1') + body
        fresh = self.sock is None
        if fresh:
            self._connect()
        try:
            self.sock.sendall(data)
            return self._read_response(method)
        except (OSError, HTTPError):
            if fresh:
                raise
        # The server closed an idle keep-alive connection: one more try on a new one.
        self._connect()
        self.sock.sendall(data)
        return self._read_response(method)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise HTTPError('connection closed by the server')
        self.buf += chunk

    def _read_until(self, marker):
        while True:
            index = self.buf.find(marker)
            if index >= 0:
                data = self.buf[:index]
                self.buf = self.buf[index + len(marker):]
                return data
            self._fill()

    def _read_exact(self, size):
        while len(self.buf) < size:
            self._fill()
        data = self.buf[:size]
        self.buf = self.buf[size:]
        return data

    def _read_response(self, method):
        head = self._read_until(b'\r\n\r\n')
        lines = head.split(b'\r\n')
        try:
            status = int(lines[0].split(b' ', 2)[1])
        except (IndexError, ValueError):
            raise HTTPError('bad status line %r' % lines[0][:80])
        length = None
        chunked = False
        close = lines[0].startswith(b'HTTP/1.0')
        for line in lines[1:]:
            name, _sep, value = line.partition(b':')
            name = name.strip().lower()
            if name == b'content-length':
                length = int(value)
            elif name == b'transfer-encoding':
                chunked = b'chunked' in value.lower()
            elif name == b'connection':
                value = value.strip().lower()
                close = value == b'close' or (close and value != b'keep-alive')
        if method == 'HEAD' or status in (204, 304) or 100 <= status < 200:
            body = b''
        elif chunked:
            body = self._read_chunked()
        elif length is not None:
            body = self._read_exact(length)
        else:
            body = self._read_to_close()
            close = True
        if close:
            self.close()
        return Response(status, body)

    def _read_chunked(self):
        parts = []
        while True:
            size = int(self._read_until(b'\r\n').split(b';')[0], 16)
            if size == 0:
                self._read_until(b'\r\n')
                return b''.join(parts)
            parts.append(self._read_exact(size))
            self._read_exact(2)

    def _read_to_close(self):
        parts = [self.buf]
        self.buf = b''
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return b''.join(parts)
            parts.append(chunk)
