#!/usr/bin/env python3
"""A tiny RFC 6455 WebSocket echo server and client (stdlib only), for proxy tests on loopback.

    ws_echo.py server PORT                         echo text frames on 127.0.0.1:PORT
    ws_echo.py client PORT SNI CAFILE PATH TEXT    connect over TLS to 127.0.0.1:PORT, upgrade, send TEXT, print the echo
"""
import base64, hashlib, os, socket, ssl, struct, sys, threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_headers(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("connection closed during handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    return lines[0], headers, rest


def recv_exact(sock, n, buf=b""):
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    return buf


def read_frame(sock):
    b1, b2 = recv_exact(sock, 2)
    length = b2 & 0x7F
    if length == 126:
        length = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", recv_exact(sock, 8))[0]
    mask = recv_exact(sock, 4) if b2 & 0x80 else None
    payload = recv_exact(sock, length) if length else b""
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return b1 & 0x0F, payload


def frame(payload, masked):
    header = bytes([0x81])
    n = len(payload)
    lenbyte = (0x80 if masked else 0) | (n if n < 126 else 126)
    header += bytes([lenbyte]) + (struct.pack("!H", n) if n >= 126 else b"")
    if masked:
        mask = os.urandom(4)
        return header + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return header + payload


def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)

    def handle(conn):
        try:
            request, headers, _ = read_headers(conn)
            if headers.get("upgrade", "").lower() != "websocket":
                body = b"not a websocket request\n"
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                return
            accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            while True:
                op, payload = read_frame(conn)
                if op == 8:
                    return
                conn.sendall(frame(b"echo:" + payload, masked=False))
        except Exception:
            pass
        finally:
            conn.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def client(port, sni, cafile, path, text):
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname=sni)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {sni}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    status, headers, _ = read_headers(sock)
    print(status)
    expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != expected:
        print("bad accept header")
        sys.exit(1)
    sock.sendall(frame(text.encode(), masked=True))
    _, payload = read_frame(sock)
    print(payload.decode())


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
