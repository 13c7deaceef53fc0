#!/usr/bin/env python3
"""Serves acme2certifier's WSGI application on 127.0.0.1 for the certs tests.

Usage: acme2certifier_server.py CONFIG PORTFILE

acme2certifier's own __main__ binds 0.0.0.0:80; this binds 127.0.0.1 on port 0 (the kernel picks
a free port, so there is no pick-then-bind race) and writes the port to PORTFILE once it listens.
Requests are served on threads: ACME clients poll while a challenge POST is being validated.
"""
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

config, portfile = sys.argv[1], sys.argv[2]
os.environ["ACME_SRV_CONFIGFILE"] = config
from acme2certifier.share.acme2certifier_wsgi import application  # noqa: E402


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Handler(WSGIRequestHandler):
    def address_string(self):
        return self.client_address[0]  # no reverse DNS


server = make_server("127.0.0.1", 0, application, server_class=Server, handler_class=Handler)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, portfile)
server.serve_forever()
