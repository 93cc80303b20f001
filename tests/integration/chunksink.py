"""A scripted next hop for the CHUNKING tests: Postfix's smtp-sink offers
no CHUNKING or BDAT (smtp-sink(1) lists neither), so this small threaded
SMTP server does.  It offers PIPELINING, CHUNKING and BINARYMIME as told,
takes DATA (dot-unstuffed) and BDAT (exact octets), and records every
command line and every message as received, byte for byte.

It also records how the client sent: with probe_pipelining, the reply to
MAIL waits PROBE_S and then notes whether a BDAT command had already
arrived (the client pipelined its chunk with MAIL and RCPT); after each
BDAT chunk it notes whether more bytes were already waiting (a client
that pipelines chunks).  session_msgs counts the messages taken in each
session, in the order sessions began.  Every socket has a timeout; stop()
ends the thread and closes the listener.

For the destination limits (test_destination): each message notes its
session (sid) and when its MAIL arrived (t_mail, time.monotonic()); the
sink keeps the peak of sessions open at once (max_active) and each
session's client address (session_peers); reject_prefix refuses the
recipients whose local part starts with it (550), final_delay holds the
reply to the end of the data that long; addr may be IPv6 ("::1").
"""

import socket
import threading
import time

PROBE_S = 0.3           # wait before answering MAIL when probing
SESSION_TIMEOUT_S = 30  # one session's socket timeout
LINE_MAX = 4096         # a command line
TEXT_LINE_MAX = 65536   # a line of DATA text


class Message:
    def __init__(self, mail, rcpts, method, data, chunks, t_mail=0.0):
        self.mail = mail            # the MAIL command line
        self.t_mail = t_mail        # time.monotonic() at MAIL
        self.sid = -1               # the session, set when kept
        self.rcpts = rcpts          # addresses, lower case
        self.method = method        # "DATA" or "BDAT"
        self.data = data            # bytes as received (DATA: unstuffed)
        self.chunks = chunks        # BDAT: [(size, last)]


class ChunkSink(threading.Thread):

    def __init__(self, addr="127.0.0.1", port=0, chunking=True,
                 binarymime=True, pipelining=True, probe_pipelining=False,
                 reject_prefix=None, final_delay=0.0):
        super().__init__(daemon=True)
        self.ext = ["SIZE 104857600", "8BITMIME", "ENHANCEDSTATUSCODES"]
        if pipelining:
            self.ext.append("PIPELINING")
        if chunking:
            self.ext.append("CHUNKING")
        if binarymime:
            self.ext.append("BINARYMIME")
        self.probe = probe_pipelining
        self.lock = threading.Lock()
        self.messages = []
        self.commands = []          # every command line, in order
        self.bdat_with_mail = []    # probe: BDAT already there at MAIL
        self.more_after_chunk = []  # bytes waiting after each chunk
        self.session_msgs = []      # messages per session
        self.session_peers = []     # client address per session
        self.active = 0             # sessions open now
        self.max_active = 0         # their peak
        self.reject_prefix = reject_prefix
        self.final_delay = final_delay
        self.ls = socket.socket(
            socket.AF_INET6 if ":" in addr else socket.AF_INET,
            socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((addr, port))
        self.port = self.ls.getsockname()[1]
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
            threading.Thread(target=self._session, args=(c,),
                             daemon=True).start()

    def stop(self):
        self.stopping = True
        self.join(5)
        self.ls.close()

    def count(self):
        with self.lock:
            return len(self.messages)

    def find(self, marker):
        """The messages whose data contains marker (bytes)."""
        with self.lock:
            return [m for m in self.messages if marker in m.data]

    # -- one session -----------------------------------------------------
    def _session(self, c):
        c.settimeout(SESSION_TIMEOUT_S)
        buf = bytearray()
        with self.lock:
            sid = len(self.session_msgs)
            self.session_msgs.append(0)
            try:
                self.session_peers.append(c.getpeername()[0])
            except OSError:
                self.session_peers.append("")

        def fill():
            d = c.recv(65536)
            if not d:
                raise EOFError
            buf.extend(d)

        def drain_now():
            """Take what the socket already holds, without waiting."""
            c.setblocking(False)
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    buf.extend(d)
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                c.settimeout(SESSION_TIMEOUT_S)

        def raw_line(limit):
            while b"\r\n" not in buf:
                if len(buf) > limit:
                    raise EOFError
                fill()
            i = buf.index(b"\r\n")
            ln = bytes(buf[:i])
            del buf[:i + 2]
            return ln

        def line():
            return raw_line(LINE_MAX).decode("utf-8", "replace")

        def octets(n):
            while len(buf) < n:
                fill()
            d = bytes(buf[:n])
            del buf[:n]
            return d

        def reply(text):
            c.sendall(text.encode() + b"\r\n")

        mail, rcpts, chunks, body = None, [], [], bytearray()
        t_mail = 0.0
        open_ = True
        try:
            reply("220 chunksink ESMTP")
            while True:
                cmd = line()
                with self.lock:
                    self.commands.append(cmd)
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    reply("\r\n".join(["250-chunksink"] +
                                      ["250-" + e for e in self.ext[:-1]] +
                                      ["250 " + self.ext[-1]]))
                elif verb == "HELO":
                    reply("250 chunksink")
                elif verb == "MAIL":
                    mail, rcpts, chunks, body = cmd, [], [], bytearray()
                    t_mail = time.monotonic()
                    if self.probe:
                        time.sleep(PROBE_S)
                        drain_now()
                        with self.lock:
                            self.bdat_with_mail.append(b"BDAT " in buf)
                    reply("250 2.1.0 ok")
                elif verb == "RCPT":
                    a = cmd.split(":", 1)[1].strip().split(" ")[0]
                    a = a.strip("<>").lower()
                    if self.reject_prefix and a.startswith(
                            self.reject_prefix):
                        reply("550 5.1.1 no such user")
                        continue
                    rcpts.append(a)
                    reply("250 2.1.5 ok")
                elif verb == "DATA":
                    if mail is None or not rcpts:
                        reply("503 5.5.1 no valid recipients")
                        continue
                    reply("354 go ahead")
                    data = bytearray()
                    while True:
                        ln = raw_line(TEXT_LINE_MAX)
                        if ln == b".":
                            break
                        data += (ln[1:] if ln.startswith(b".") else ln)
                        data += b"\r\n"
                    self._keep(Message(mail, rcpts, "DATA", bytes(data),
                                       [], t_mail), sid)
                    mail, rcpts = None, []
                    if self.final_delay:
                        time.sleep(self.final_delay)
                    reply("250 2.0.0 ok queued")
                elif verb == "BDAT":
                    parts = cmd.split()
                    size = int(parts[1])
                    last = len(parts) > 2 and parts[2].upper() == "LAST"
                    data = octets(size)
                    drain_now()
                    with self.lock:
                        self.more_after_chunk.append(len(buf))
                    if mail is None or not rcpts:
                        reply("503 5.5.1 no transaction")
                        continue
                    body += data
                    chunks.append((size, last))
                    if last:
                        self._keep(Message(mail, rcpts, "BDAT",
                                           bytes(body), chunks, t_mail), sid)
                        mail, rcpts = None, []
                        if self.final_delay:
                            time.sleep(self.final_delay)
                        reply("250 2.0.0 ok queued")
                    else:
                        reply("250 2.0.0 %d octets" % size)
                elif verb == "RSET":
                    mail, rcpts = None, []
                    reply("250 2.0.0 ok")
                elif verb == "NOOP":
                    reply("250 2.0.0 ok")
                elif verb == "QUIT":
                    # the session ends for the client with our reply:
                    # not open any more by the time it connects again
                    with self.lock:
                        self.active -= 1
                        open_ = False
                    reply("221 2.0.0 bye")
                    return
                else:
                    reply("502 5.5.1 unknown")
        except (OSError, EOFError, ValueError, IndexError):
            return
        finally:
            c.close()
            if open_:
                with self.lock:
                    self.active -= 1

    def _keep(self, m, sid):
        m.sid = sid
        with self.lock:
            self.messages.append(m)
            self.session_msgs[sid] += 1

    def per_session(self):
        """Messages taken in each session that took any."""
        with self.lock:
            return [n for n in self.session_msgs if n > 0]
