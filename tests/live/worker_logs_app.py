#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A worker for the worker logs live test: an HTTP server on $PORT that
writes a line on stdout and another on stderr for every request
("out PATH", "err PATH"), and for /spam/N, N numbered lines on stdout."""
import http.server
import os
import socket
import socketserver
import sys

NAME = "py %s pid %d\n" % (os.environ.get("WORKER_ID", "-"), os.getpid())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path.startswith("/spam/"):
            n = int(self.path[len("/spam/"):])
            for i in range(1, n + 1):
                print("spam %d of %d" % (i, n))
            sys.stdout.flush()
        else:
            print("out", self.path, flush=True)
            print("err", self.path, file=sys.stderr, flush=True)
        body = NAME.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    server = Server(("::", int(os.environ["PORT"])), Handler)
    print("listening on", os.environ["PORT"], flush=True)
    print("started on stderr", file=sys.stderr, flush=True)
    server.serve_forever()
