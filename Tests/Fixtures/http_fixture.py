#!/usr/bin/env python3
"""A loopback HTTP/HTTPS test server (stdlib only) for the HTTP client and webhook alert tests.

    http_fixture.py [--bind 127.0.0.1|::1] [--port 0] [--cert C --key K] [--record FILE] [--post-status N]

Prints the bound port on the first line of stdout, then serves until killed:
    GET  /hello     200 "hello" with Content-Length
    GET  /chunked   200, chunked body "chunk-one,chunk-two,chunk-three"
    GET  /close     200, no Content-Length, body ends at close
    GET  /links     200 with two Link headers
    GET  /big       200 with an 11 MiB body
    GET  /slow      sleeps 5 s before answering
    GET  /status/N  answers with status N
    GET  /connections  how many connections the server has accepted so far
    GET  /close-length 200 with Content-Length and "Connection: close", but the server keeps the
                    connection open (a client that reuses it anyway would be served)
    GET  /drop-later 200 with Content-Length, then closes the connection 0.5 s later without
                    reading what arrived meanwhile (an idle connection the server drops)
    GET  /files/F   the file F of --files DIR (CRLs for the revocation tests), 404 when absent
    GET  /huge      200 announcing and streaming a 100 MiB body
    HEAD /hello     headers only
    POST anything   echoes JSON {method, path, headers, body}; with --record, appends the body
                    and a newline to FILE; answers --post-status (default 200)
"""
import argparse, json, signal, socket, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        p = self.path
        if p == "/hello":
            self.send_body(200, b"hello", [("Content-Type", "text/plain"), ("X-Test", "one")])
        elif p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in [b"chunk-one,", b"chunk-two,", b"chunk-three"]:
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
        elif p == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until-close")
            self.close_connection = True
        elif p == "/links":
            self.send_body(200, b"{}", [("Link", '<https://a/1>;rel="up"'), ("Link", '<https://a/2>;rel="alternate"')])
        elif p == "/big":
            self.send_body(200, b"x" * (11 * 1024 * 1024))
        elif p == "/slow":
            time.sleep(5)
            self.send_body(200, b"late")
        elif p.startswith("/files/") and self.server.files:
            import os
            path = os.path.join(self.server.files, os.path.basename(p))
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    self.send_body(200, f.read(), [("Content-Type", "application/pkix-crl")])
            else:
                self.send_body(404, b"not found")
        elif p == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(100 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"0" * (1024 * 1024))
            except OSError:
                pass
        elif p == "/connections":
            self.send_body(200, str(self.server.accepted).encode())
        elif p == "/close-length":
            self.send_body(200, b"closing", [("Connection", "close")])
            self.close_connection = False
        elif p == "/drop-later":
            self.send_body(200, b"dropping")
            self.wfile.flush()
            time.sleep(0.5)
            self.close_connection = True
        elif p.startswith("/status/"):
            self.send_body(int(p.split("/")[2]), b"status")
        else:
            self.send_body(404, b"not found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.server.record:
            with open(self.server.record, "ab") as f:
                f.write(body + b"\n")
        echo = {"method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace")}
        self.send_body(self.server.post_status, json.dumps(echo).encode(), [("Content-Type", "application/json")])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    accepted = 0

    def process_request(self, request, client_address):
        self.accepted += 1  # the accepting thread only
        super().process_request(request, client_address)


def main():
    # A parent that spawned us from a thread with signals blocked (Foundation.Process does) must
    # still be able to stop us with SIGTERM.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    a = argparse.ArgumentParser()
    a.add_argument("--bind", default="127.0.0.1")
    a.add_argument("--port", type=int, default=0)
    a.add_argument("--cert")
    a.add_argument("--key")
    a.add_argument("--record")
    a.add_argument("--post-status", type=int, default=200)
    a.add_argument("--files")
    args = a.parse_args()
    Server.address_family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    server = Server((args.bind, args.port), Handler)
    server.record = args.record
    server.post_status = args.post_status
    server.files = args.files
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
