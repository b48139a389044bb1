#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A second worker language for the live tests: an HTTP server on $PORT,
one dual-stack socket, that names its worker in every answer."""
import http.server
import os
import socket
import socketserver

NAME = "py %s pid %d\n" % (os.environ.get("WORKER_ID", "-"), os.getpid())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
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
    server.serve_forever()
