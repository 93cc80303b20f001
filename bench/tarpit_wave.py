#!/usr/bin/python3
"""bench/tarpit_wave.py: a spam wave that sits in a tarpit (bench/accept's
spam-wave run, see bench/README.md).

Holds --sessions SMTP connections open at once, from the --sources
addresses in turn (each address holds sessions / sources of them, under
the per-host connection limit), in one asyncio event loop: no thread per
connection.  Each connection goes through the dialogue at the pace the
server allows -- banner, EHLO, MAIL, RCPT, DATA, a small message, QUIT --
as a patient spam engine would, and is replaced by a new one from the same
address when it ends, so the number held stays at --sessions.

A connection's first session pauses for a random time, up to --jitter
seconds, after its banner: without it the sessions opened in the same
seconds would reach DATA in lock step, and the wave would be a burst of
messages every session length instead of a steady trickle.

Every second one JSON line goes to stdout: open connections, banners
received, messages accepted, errors, and the median wait for a banner and
for a command reply since the last line (the tarpit's delays as the client
sees them).  Stops on SIGTERM or SIGINT, closing every connection.
"""

import argparse
import asyncio
import json
import random
import signal
import statistics
import sys
import time

REPLY_TIMEOUT = 300.0       # RFC 5321 4.5.3.2: a client waits 5 minutes
CONNECT_TIMEOUT = 30.0
RETRY_PAUSE = 1.0           # after a failed or refused connection
LINE_MAX = 4096


class Wave:
    def __init__(self, args):
        self.args = args
        self.stopping = False
        self.open = 0
        self.connects = 0
        self.banners = 0
        self.messages = 0
        self.refused = 0        # a banner other than 220
        self.errors = 0
        self.last_error = ""
        self.banner_waits = []  # since the last report
        self.reply_waits = []
        body = ["Subject: wave", "From: <bot@wave.example>", ""]
        line = "spam " * 14
        while sum(len(x) + 2 for x in body) < args.size:
            body.append(line)
        self.body = ("\r\n".join(body) + "\r\n.\r\n").encode()
        self.writers = set()

    async def reply(self, reader):
        """One whole reply (multi-line included): its code."""
        while True:
            line = await asyncio.wait_for(reader.readline(), REPLY_TIMEOUT)
            if not line:
                raise ConnectionError("closed by the server")
            if len(line) < 4 or len(line) > LINE_MAX:
                raise ConnectionError("bad reply %r" % line[:80])
            if line[3:4] != b"-":
                return int(line[:3])

    async def step(self, reader, writer, data, want):
        t0 = time.monotonic()
        writer.write(data)
        code = await self.reply(reader)
        self.reply_waits.append(time.monotonic() - t0)
        if code != want:
            raise ConnectionError("%r got %d" % (data[:20], code))

    async def session(self, src, pause):
        a = self.args
        t0 = time.monotonic()
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            a.host, a.port, local_addr=(src, 0)), CONNECT_TIMEOUT)
        self.connects += 1
        self.open += 1
        self.writers.add(writer)
        try:
            code = await self.reply(reader)
            if code != 220:
                self.refused += 1
                self.last_error = "banner %d from %s" % (code, src)
                await asyncio.sleep(RETRY_PAUSE)
                return
            self.banners += 1
            self.banner_waits.append(time.monotonic() - t0)
            if pause > 0:
                await asyncio.sleep(pause)
            await self.step(reader, writer, b"EHLO bot.wave.example\r\n",
                            250)
            await self.step(reader, writer,
                            b"MAIL FROM:<bot@wave.example>\r\n", 250)
            await self.step(reader, writer,
                            ("RCPT TO:<%s>\r\n" % a.rcpt).encode(), 250)
            await self.step(reader, writer, b"DATA\r\n", 354)
            await self.step(reader, writer, self.body, 250)
            self.messages += 1
            await self.step(reader, writer, b"QUIT\r\n", 221)
        finally:
            self.open -= 1
            self.writers.discard(writer)
            writer.close()

    async def slot(self, i, delay):
        await asyncio.sleep(delay)
        src = self.args.sources[i % len(self.args.sources)]
        pause = random.uniform(0, self.args.jitter)
        while not self.stopping:
            try:
                await self.session(src, pause)
                pause = 0
            except (OSError, ConnectionError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError, ValueError) as e:
                if self.stopping:
                    return
                self.errors += 1
                self.last_error = "%s: %s" % (src, e or type(e).__name__)
                await asyncio.sleep(RETRY_PAUSE)

    def report(self, t0):
        bw, rw = self.banner_waits, self.reply_waits
        self.banner_waits, self.reply_waits = [], []
        doc = {
            "t": round(time.monotonic() - t0, 3), "open": self.open,
            "connects": self.connects, "banners": self.banners,
            "messages": self.messages, "refused": self.refused,
            "errors": self.errors, "last_error": self.last_error,
            "banner_wait": round(statistics.median(bw), 3) if bw else None,
            "reply_wait": round(statistics.median(rw), 3) if rw else None,
        }
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()

    async def run(self):
        a = self.args
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def stop():
            self.stopping = True
            done.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        t0 = time.monotonic()
        tasks = [asyncio.ensure_future(self.slot(i, i / a.ramp))
                 for i in range(a.sessions)]
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
            self.report(t0)
        for w in list(self.writers):
            w.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main(argv):
    ap = argparse.ArgumentParser(prog="tarpit_wave.py")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--sources", required=True,
                    help="comma-separated source addresses")
    ap.add_argument("--ramp", type=float, default=250.0,
                    help="new connections per second while ramping up")
    ap.add_argument("--size", type=int, default=2048,
                    help="message size in bytes")
    ap.add_argument("--rcpt", default="rcpt@example.org")
    ap.add_argument("--jitter", type=float, default=30.0,
                    help="a connection's first session pauses up to this "
                    "many seconds after the banner (default 30)")
    args = ap.parse_args(argv)
    args.sources = [x for x in args.sources.split(",") if x]
    if not args.sources or args.sessions < 1 or args.ramp <= 0 or \
            not 0 <= args.jitter < 250:
        ap.error("need sources, sessions >= 1, ramp > 0 and jitter "
                 "from 0 to 250 s (under the server's 5-minute timeout)")
    asyncio.run(Wave(args).run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
