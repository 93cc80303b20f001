#!/usr/bin/python3
"""bench/hold_sessions.py: open and hold idle SMTP sessions (bench/sessions).

One asyncio loop, no thread per connection.  Opens --sessions connections
to 127.0.0.1:--port, spread over the source addresses --addrs (bound with
IP_BIND_ADDRESS_NO_PORT, so that each address has a full port range per
destination), at most --rate new ones a second and --inflight unanswered
at once; each reads the banner, says EHLO, reads the reply and stays
idle.  A session that fails is counted and opened again (at most
--retries times in all).  Every second one line on stdout:

    held H opening O failed F refused R

and "done" once --sessions are held.  On SIGTERM or stdin EOF every
session sends QUIT and closes, then the program exits 0.

The descriptor limit of this process bounds --sessions; bench/sessions
runs several of these.
"""

import argparse
import asyncio
import signal
import socket
import sys
import time

IP_BIND_ADDRESS_NO_PORT = 24    # linux/in.h


class Holder:
    def __init__(self, a):
        self.a = a
        self.held = 0
        self.opening = 0
        self.failed = 0
        self.refused = 0
        self.retries_left = a.retries
        self.writers = []
        self.stop = asyncio.Event()

    async def one(self, src):
        self.opening += 1
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            s.setblocking(False)
            s.bind((src, 0))
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(
                loop.sock_connect(s, ("127.0.0.1", self.a.port)),
                self.a.timeout)
            r, w = await asyncio.open_connection(sock=s, limit=4096)
            banner = await asyncio.wait_for(r.readline(), self.a.timeout)
            if not banner.startswith(b"220"):
                self.refused += 1
                w.close()
                return False
            w.write(b"EHLO hold.bench.test\r\n")
            while True:
                ln = await asyncio.wait_for(r.readline(), self.a.timeout)
                if not ln.startswith(b"250"):
                    self.refused += 1
                    w.close()
                    return False
                if ln[3:4] == b" ":
                    break
            self.held += 1
            self.writers.append(w)
            return True
        except (OSError, asyncio.TimeoutError, ValueError):
            self.failed += 1
            return False
        finally:
            self.opening -= 1

    async def report(self):
        while not self.stop.is_set():
            print("held %d opening %d failed %d refused %d" % (
                self.held, self.opening, self.failed, self.refused),
                flush=True)
            try:
                await asyncio.wait_for(self.stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    async def run(self):
        a = self.a
        rep = asyncio.create_task(self.report())
        sem = asyncio.Semaphore(a.inflight)
        addrs = a.addrs.split(",")
        t0 = time.monotonic()
        started = 0
        tasks = set()

        async def guarded(src):
            async with sem:
                ok = await self.one(src)
            if not ok and self.retries_left > 0 and not self.stop.is_set():
                self.retries_left -= 1
                t = asyncio.create_task(guarded(src))
                tasks.add(t)
                t.add_done_callback(tasks.discard)

        while started < a.sessions and not self.stop.is_set():
            # pace: started / rate seconds since t0
            due = t0 + started / a.rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(min(due - now, 0.05))
                continue
            t = asyncio.create_task(guarded(addrs[started % len(addrs)]))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            started += 1
        while tasks and not self.stop.is_set():
            await asyncio.sleep(0.1)
        if self.held >= a.sessions:
            print("done", flush=True)
        await self.stop.wait()
        for w in self.writers:
            try:
                w.write(b"QUIT\r\n")
                w.close()
            except OSError:
                pass
        await asyncio.sleep(0.5)
        rep.cancel()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, required=True)
    ap.add_argument("--addrs", required=True, help="a,b,c: source addresses")
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--inflight", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--retries", type=int, default=1000)
    a = ap.parse_args()
    h = Holder(a)

    async def amain():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, h.stop.set)
        loop.add_reader(sys.stdin.fileno(), lambda: (
            h.stop.set() if not sys.stdin.buffer.read1(1) else None))
        await h.run()
    asyncio.run(amain())


if __name__ == "__main__":
    main()
