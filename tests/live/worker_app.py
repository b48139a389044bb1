#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A second worker language for the live tests: an HTTP server on $PORT,
one dual-stack socket, that names its worker in every answer; with --udp,
a UDP server that does the same."""
import http.server
import os
import socket
import socketserver
import struct
import sys

# Python gained IP_PKTINFO in 3.12; Linux's value.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
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


def serve_udp(port):
    """--udp: answers each datagram with the worker's name, from the address
    it was sent to (the VIP), as a UDP server behind a VIP must: the socket
    is bound to any address, so the source is set per reply with IP_PKTINFO."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.bind(("0.0.0.0", port))
    print("listening on", port, "udp", flush=True)
    while True:
        _, anc, _, peer = sock.recvmsg(512, socket.CMSG_SPACE(12))
        # struct in_pktinfo: ifindex, local address, destination address.
        info = [d for lvl, typ, d in anc
                if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO]
        reply = [(socket.IPPROTO_IP, IP_PKTINFO,
                  struct.pack("i4s4s", 0, info[0][8:12], b"\0" * 4))] if info else []
        sock.sendmsg([NAME.encode()], reply, 0, peer)


if __name__ == "__main__":
    if sys.argv[1:] == ["--udp"]:
        serve_udp(int(os.environ["PORT"]))
    server = Server(("::", int(os.environ["PORT"])), Handler)
    print("listening on", os.environ["PORT"], flush=True)
    server.serve_forever()
