#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A test client: long-lived TCP connections that must never break, and a
stream of new short ones that must not fail. Talks to echo_server.py
(which sends its name first, then echoes every line).

    longconn.py HOST PORT --until FILE --ready FILE [--conns N]
        [--interval S] [--fixed-interval] [--stall S] [--rate N] [--new-timeout S]
        [--max-time S] [--progress FILE]

Long: --conns connections, opened at the start. Each sends a short line
every --interval seconds (0.1) and waits for its echo. One is broken when
it is reset, closed, answered with something else, or when an echo takes
longer than --stall seconds (2): it is then counted once and not used
again. Once all are open (or failed to open), the client writes --ready:
JSON {"conns": [{"sport", "backend"}], "open_failed"}, so that the caller
can tell the path and backend of each connection.

New: from then on, --rate connections a second (50), each started on its
own: connect, read the name, send a line, read the echo, close. One has
failed when it meets an error, has not done all that within
--new-timeout seconds (3), or had a segment sent again (the kernel's
tcpi_total_retrans): a lost SYN, sent again after a second, fails the
connection, a stall of the machine does not.

--progress: FILE is rewritten every 0.2 s with JSON {"new_ok", "new_failed",
"broken", "echoes"}, the counts so far, for a caller that waits for traffic.
--rate 0: no new connections, only the long ones.

Runs until FILE exists, at most --max-time seconds (120), then closes
everything and prints one JSON object:
  long, open_failed, broken, broken_list [{sport, backend, t, why}],
  echoes (answered, all long connections together), max_echo_s (the longest echo wait of a connection not broken), slow
  (echo waits over 0.5 s), waits {sport: the longest echo wait of that
  connection, when over 0.1 s}, long_by {backend: connections},
  new_ok, new_failed, new_by {backend: count}, new_failures [{t, end,
  why}] (the first 500: start and end, "retransmitted" or the error),
  max_lag_s and lag_at (the longest this client's event loop was late, and
  when it woke up: a stall of the machine shows there), intervals [{t, new_ok, new_failed, broken}] per second,
  start, end.
Times ("t", "start", "end") are Unix times, to set beside the caller's.

Under emulation (BOUNCER_TIME_SCALE, as in tests/lib/live.sh: vm/run sets
it) the wall-clock bounds --stall, --new-timeout and --max-time are
multiplied by the factor, and so is --interval (unless --fixed-interval:
the caller chose it for the machine): the same echo load relative to the
machine's speed, the same checks. --rate is divided by the factor too, but
by 3 at most: a new connection costs little beside the long ones' echoes,
and the suites count new connections after each event (traffic, not
time), which at a tenth of the rate would take ten times as long.
"""
import argparse
import asyncio
import json
import os
import socket
import struct
import sys
import time

# The most --rate is divided by under emulation (above).
RATE_SCALE_MAX = 3

# struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, then u32 fields;
# tcpi_total_retrans is the 24th of those.
TCPI_TOTAL_RETRANS = 8 + 23 * 4
TCP_INFO_LEN = TCPI_TOTAL_RETRANS + 4


class Run:
    def __init__(self, a):
        self.a = a
        self.stop = asyncio.Event()
        self.conns = []  # (sport, backend) of the open long connections
        self.open_failed = 0
        self.broken = []
        self.max_echo = 0.0
        self.waits = {}  # sport -> its longest echo wait, over 0.1 s
        self.max_lag, self.lag_at = 0.0, None
        self.slow = 0
        self.echoes = 0  # answered echoes of the long connections
        self.new_ok = 0
        self.new_failed = 0
        self.new_by = {}
        self.new_failures = []
        self.intervals = {}  # second since start -> counts
        self.start = time.time()

    def tick(self, key):
        sec = int(time.time() - self.start)
        d = self.intervals.setdefault(sec, {"new_ok": 0, "new_failed": 0, "broken": 0})
        d[key] += 1

    async def open_long(self):
        a = self.a
        try:
            async with asyncio.timeout(a.stall):
                r, w = await asyncio.open_connection(a.host, a.port)
                name = (await r.readline()).strip().decode(errors="replace")
            if not name:
                raise ConnectionError("closed before the name")
        except (OSError, TimeoutError) as e:
            self.open_failed += 1
            print("longconn: a long connection failed to open: %r" % e, file=sys.stderr)
            return None
        sport = w.get_extra_info("sockname")[1]
        self.conns.append((sport, name))
        return r, w, sport, name

    async def run_long(self, conn):
        r, w, sport, name = conn
        a = self.a
        loop = asyncio.get_running_loop()
        seq = 0
        next_t = loop.time()
        why = None
        try:
            while not self.stop.is_set():
                seq += 1
                msg = b"%d\n" % seq
                sent = loop.time()
                w.write(msg)
                try:
                    async with asyncio.timeout(a.stall):
                        line = await r.readline()
                except TimeoutError:
                    why = "stall"
                    break
                took = loop.time() - sent
                if not line:
                    why = "closed"
                    break
                if line != msg:
                    why = "answered %r" % line[:20]
                    break
                self.echoes += 1
                self.max_echo = max(self.max_echo, took)
                if took > 0.1:
                    self.waits[sport] = round(max(self.waits.get(sport, 0), took), 3)
                if took > 0.5:
                    self.slow += 1
                next_t += a.interval
                delay = next_t - loop.time()
                if delay > 0:
                    try:
                        async with asyncio.timeout(delay):
                            await self.stop.wait()
                    except TimeoutError:
                        pass
                else:
                    next_t = loop.time()
        except OSError as e:
            why = type(e).__name__
        if why:
            self.broken.append({"sport": sport, "backend": name,
                                "t": round(time.time(), 3), "why": why})
            self.tick("broken")
        w.close()

    def new_failure(self, t, why):
        self.new_failed += 1
        self.tick("new_failed")
        if len(self.new_failures) < 500:
            self.new_failures.append({"t": round(t, 3), "end": round(time.time(), 3),
                                      "why": why})

    async def one_new(self):
        a = self.a
        t = time.time()
        w = None
        try:
            async with asyncio.timeout(a.new_timeout):
                r, w = await asyncio.open_connection(a.host, a.port)
                name = (await r.readline()).strip().decode(errors="replace")
                w.write(b"x\n")
                if not name or await r.readline() != b"x\n":
                    raise ConnectionError("no name or echo")
            # A segment lost on the way (the SYN: a second's wait) is a
            # failure, however it ended; a stall of this machine is not.
            info = w.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LEN)
            retrans = struct.unpack_from("I", info, TCPI_TOTAL_RETRANS)[0]
        except (OSError, TimeoutError) as e:
            self.new_failure(t, type(e).__name__)
            return
        finally:
            if w:
                w.close()
        if retrans:
            self.new_failure(t, "retransmitted")
            return
        self.new_ok += 1
        self.tick("new_ok")
        self.new_by[name] = self.new_by.get(name, 0) + 1

    async def run_new(self):
        if self.a.rate <= 0:
            return
        loop = asyncio.get_running_loop()
        tasks = set()
        next_t = loop.time()
        while not self.stop.is_set():
            task = asyncio.create_task(self.one_new())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_t += 1 / self.a.rate
            delay = next_t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        if tasks:
            await asyncio.wait(tasks)

    def progress(self):
        if not self.a.progress:
            return
        tmp = self.a.progress + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"new_ok": self.new_ok, "new_failed": self.new_failed,
                       "broken": len(self.broken), "echoes": self.echoes}, f)
        os.rename(tmp, self.a.progress)

    async def watch(self, deadline):
        loop = asyncio.get_running_loop()
        n = 0
        while time.time() < deadline and not os.path.exists(self.a.until):
            before = loop.time()
            await asyncio.sleep(0.05)
            lag = loop.time() - before - 0.05
            if lag > self.max_lag:
                self.max_lag, self.lag_at = lag, time.time()
            n += 1
            if n % 4 == 0:
                self.progress()
        self.stop.set()

    async def main(self):
        a = self.a
        deadline = self.start + a.max_time
        # At most 20 at a time: a burst of SYNs is not what is tested.
        sem = asyncio.Semaphore(20)

        async def opened():
            async with sem:
                return await self.open_long()

        conns = [c for c in await asyncio.gather(*(opened() for _ in range(a.conns))) if c]
        tmp = a.ready + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"conns": [{"sport": s, "backend": b} for s, b in self.conns],
                       "open_failed": self.open_failed}, f)
        os.rename(tmp, a.ready)
        await asyncio.gather(self.watch(deadline), self.run_new(),
                             *(self.run_long(c) for c in conns))
        end = time.time()
        by = {}
        for _, b in self.conns:
            by[b] = by.get(b, 0) + 1
        return {
            "long": len(self.conns), "open_failed": self.open_failed,
            "broken": len(self.broken), "broken_list": self.broken,
            "echoes": self.echoes,
            "max_echo_s": round(self.max_echo, 3), "slow": self.slow,
            "waits": self.waits,
            "max_lag_s": round(self.max_lag, 3),
            "lag_at": round(self.lag_at, 3) if self.lag_at else None,
            "long_by": by,
            "new_ok": self.new_ok, "new_failed": self.new_failed,
            "new_by": self.new_by, "new_failures": self.new_failures,
            "intervals": [dict(t=round(self.start + s, 3), **c)
                          for s, c in sorted(self.intervals.items())],
            "start": round(self.start, 3), "end": round(end, 3),
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--until", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--conns", type=int, default=60)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--fixed-interval", action="store_true",
                    help="leave --interval as given under emulation")
    ap.add_argument("--stall", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--new-timeout", type=float, default=3.0)
    ap.add_argument("--max-time", type=float, default=120.0)
    ap.add_argument("--progress")
    a = ap.parse_args()
    scale = float(os.environ.get("BOUNCER_TIME_SCALE") or 1)
    if not a.fixed_interval:
        a.interval *= scale
    a.stall *= scale
    a.new_timeout *= scale
    a.max_time *= scale
    a.rate /= min(scale, RATE_SCALE_MAX)
    report = asyncio.run(Run(a).main())
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
