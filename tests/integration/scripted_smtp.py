"""A scripted SMTP receiver on one asyncio loop (a thread of the test).

Shared by the outbound tests (issue 12).  It speaks enough ESMTP for
deliverd (EHLO with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES;
MAIL, RCPT, DATA, RSET, NOOP, QUIT; commands answered in order, so
pipelined groups work) and counts what a test wants to see:

- attempts: the time of every TCP connection accepted;
- sessions_now / max_sessions: sessions greeted 220 and not yet closed;
- over_421: connections answered 421 because of `max_sessions_allowed`;
- messages: (mail from, [rcpts], body bytes) of each accepted message.

Behaviours, each settable while it runs (attributes read per event):

- max_sessions_allowed N, over="421": a connection past N concurrent
  sessions is greeted "421 4.7.0 too many connections" and closed;
- max_sessions_allowed N, over="refuse": while N sessions are open the
  listening socket is closed (new connections get ECONNREFUSED), and
  opened again on the same port when one ends; a connection the kernel
  had already accepted is reset;
- greet_421_all: every connection gets 421 and is closed;
- data_delay: seconds before the reply to the end of data (a slow or
  loaded server);
- quit_close_delay: seconds between the 221 to QUIT and the close (the
  session still counts meanwhile, as at a busy receiver).

Every loop is bounded: sessions have an idle timeout (idle_timeout), the
reader a line limit, stop() joins the thread within 5 s.
"""

import asyncio
import socket
import threading
import time

LINE_MAX = 65536


class ScriptedSMTP:
    def __init__(self, addr="127.0.0.1", port=0, name="scripted.test",
                 max_sessions_allowed=None, over="421", greet_421_all=False,
                 data_delay=0.0, idle_timeout=30.0, quit_close_delay=0.0):
        self.addr = addr
        self.name = name
        self.max_sessions_allowed = max_sessions_allowed
        self.over = over
        self.greet_421_all = greet_421_all
        self.data_delay = data_delay
        self.quit_close_delay = quit_close_delay
        self.idle_timeout = idle_timeout
        self.lock = threading.Lock()
        self.attempts = []
        self.sessions_now = 0
        self.max_sessions = 0
        self.over_421 = 0
        self.refusing = False       # listener closed (over="refuse")
        self.refusals = 0           # times it was closed
        self.refused_late = 0       # connections reset past the cap
        self.messages = []
        self.sessions_log = []      # (time, sessions_now) at each change
        if port == 0:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((addr, 0))
            port = s.getsockname()[1]
            s.close()
        self.port = port
        self.server = None
        self.loop = asyncio.new_event_loop()
        self.th = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.th.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    # -- listener ---------------------------------------------------------
    async def _listen(self):
        self.server = await asyncio.start_server(
            self._session, self.addr, self.port, reuse_address=True,
            backlog=128, limit=LINE_MAX)

    def _refuse(self):
        if self.server is not None and not self.refusing:
            self.refusing = True
            self.refusals += 1
            self.server.close()
            self.server = None

    async def _unrefuse(self):
        if self.refusing:
            self.refusing = False
            try:
                await self._listen()
            except OSError:
                self.refusing = True

    # -- accounting --------------------------------------------------------
    def _sessions(self, delta):
        with self.lock:
            self.sessions_now += delta
            if self.sessions_now > self.max_sessions:
                self.max_sessions = self.sessions_now
            self.sessions_log.append((time.monotonic(), self.sessions_now))

    def count(self):
        with self.lock:
            return len(self.messages)

    def attempts_since(self, t0):
        with self.lock:
            return len([t for t in self.attempts if t >= t0])

    def max_sessions_since(self, t0):
        """Most sessions open at once after monotonic time t0."""
        with self.lock:
            before = [n for t, n in self.sessions_log if t < t0]
            after = [n for t, n in self.sessions_log if t >= t0]
        return max(after + before[-1:] or [0])

    def reset_max(self):
        with self.lock:
            self.max_sessions = self.sessions_now

    # -- one session -------------------------------------------------------
    async def _session(self, reader, writer):
        with self.lock:
            self.attempts.append(time.monotonic())
        cap = self.max_sessions_allowed
        if self.greet_421_all or (cap is not None and self.over == "421"
                                  and self.sessions_now >= cap):
            if not self.greet_421_all:
                with self.lock:
                    self.over_421 += 1
            try:
                writer.write(b"421 4.7.0 %s too many connections\r\n" %
                             self.name.encode())
                await writer.drain()
            except OSError:
                pass
            writer.close()
            return
        if cap is not None and self.over == "refuse" and \
                self.sessions_now >= cap:
            # taken from the kernel's backlog before the listener closed
            # (two connections opened at once): reset it, the same
            # refusal as the closed listener's
            sock = writer.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            with self.lock:
                self.refused_late += 1
            writer.close()
            return
        self._sessions(+1)
        if cap is not None and self.over == "refuse" and \
                self.sessions_now >= cap:
            self._refuse()
        try:
            await self._dialogue(reader, writer)
        except (OSError, asyncio.TimeoutError, asyncio.LimitOverrunError,
                ValueError, asyncio.CancelledError):
            pass
        finally:
            self._sessions(-1)
            try:
                writer.close()
            except OSError:
                pass
            if self.refusing and (cap is None or self.sessions_now < cap):
                await self._unrefuse()

    async def _line(self, reader):
        line = await asyncio.wait_for(reader.readline(), self.idle_timeout)
        if not line:
            raise OSError("closed")
        return line.decode("latin-1").rstrip("\r\n")

    async def _dialogue(self, reader, writer):
        async def reply(text):
            writer.write(text.encode() + b"\r\n")
            await writer.drain()

        await reply("220 %s ESMTP scripted" % self.name)
        mail, rcpts = None, []
        while True:
            cmd = await self._line(reader)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                await reply("250-%s\r\n250-PIPELINING\r\n250-SIZE 100000000"
                            "\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES" %
                            self.name)
            elif verb == "HELO":
                await reply("250 %s" % self.name)
            elif verb == "MAIL":
                mail, rcpts = cmd, []
                await reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[-1].strip())
                await reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    await reply("554 5.5.1 no valid recipients")
                    continue
                await reply("354 go ahead")
                size = 0
                while True:
                    ln = await asyncio.wait_for(reader.readline(),
                                                self.idle_timeout)
                    if not ln or ln == b".\r\n":
                        break
                    size += len(ln)
                if self.data_delay > 0:
                    await asyncio.sleep(self.data_delay)
                with self.lock:
                    self.messages.append((mail, rcpts, size))
                await reply("250 2.0.0 ok queued")
                mail, rcpts = None, []
            elif verb == "RSET":
                mail, rcpts = None, []
                await reply("250 2.0.0 ok")
            elif verb == "NOOP":
                await reply("250 2.0.0 ok")
            elif verb == "QUIT":
                await reply("221 2.0.0 bye")
                if self.quit_close_delay > 0:
                    await asyncio.sleep(self.quit_close_delay)
                return
            else:
                await reply("502 5.5.1 unknown command")

    # -- stop --------------------------------------------------------------
    def stop(self):
        async def close():
            if self.server is not None:
                self.server.close()
                self.server = None
            # sessions end now (they may wait for a line)
            me = asyncio.current_task()
            tasks = [x for x in asyncio.all_tasks() if x is not me]
            for x in tasks:
                x.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=3)
        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.th.join(5)
