#!/usr/bin/env python3
"""Loopback servers for the STARTTLS tests. Each binds 127.0.0.1 port 0, prints the bound port on
the first line of stdout and serves until killed.

    starttls_fixture.py smtp --cert C --key K   a real SMTP server (aiosmtpd) offering STARTTLS
    starttls_fixture.py silent                  accepts connections and never says a word
    starttls_fixture.py trickle                 sends an SMTP banner one byte a second, forever
"""
import argparse, socket, ssl, sys, threading, time


def listen():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print(s.getsockname()[1], flush=True)
    return s


def serve_forever(s, handle):
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def silent(conn):
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def trickle(conn):
    banner = b"220 trickle.test ESMTP " + b"x" * 100000
    try:
        for b in banner:
            conn.sendall(bytes([b]))
            time.sleep(1)
    except OSError:
        pass


def smtp(cert, key):
    import asyncio
    from aiosmtpd.smtp import SMTP

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(Sink(), hostname="mail.test", tls_context=context, require_starttls=True),
        "127.0.0.1", 0))
    print(server.sockets[0].getsockname()[1], flush=True)
    loop.run_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["smtp", "silent", "trickle"])
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()
    if a.mode == "smtp":
        smtp(a.cert, a.key)
    else:
        serve_forever(listen(), silent if a.mode == "silent" else trickle)


if __name__ == "__main__":
    main()
