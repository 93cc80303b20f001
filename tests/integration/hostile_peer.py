"""A small client of Breakwater's imsg protocol, for tests that play smtpd
(or another peer) against queued.sock without the real daemon: a frame
encoder/decoder, the payload structs of the submission protocol mirrored
with ctypes (native layout, like the C side), and a set of hostile frames.

Header: 5 x uint32 native endian: type, len, peerid, pid, flags.  The first
frame on a connection must be HELLO {version, role, pid, worker}.

Run as a script to send one hostile case:
    python3 hostile_peer.py SOCKET CASE
"""

import ctypes
import os
import socket
import sys
import time

from imsgproto import (ADDR_MAX, DOMAIN_MAX, HDR, HOSTADDR_MAX,  # noqa: F401
                       IMSG_VERSION, NAME_MAX, QID_LEN, ROLE, TYPES as _TYPES,
                       Hello, take_frame)
from imsgproto import CHUNK_MAX as DATA_CHUNK_MAX  # noqa: F401
from imsgproto import DSN_ENVID_MAX, DSN_ORCPT_MAX

MAX_PAYLOAD = 64 * 1024

(HELLO, MSG_OPEN, MSG_RCPT, MSG_DATA, MSG_COMMIT, MSG_ABORT, MSG_OPEN_REPLY,
 MSG_COMMIT_REPLY, STATUS_REQ, STATUS, QUEUE_LIST_REQ, QUEUE_ENTRY,
 QUEUE_END, MESSAGE_SHOW_REQ, MESSAGE_INFO, MESSAGE_RCPT, MESSAGE_END,
 MESSAGE_LIST_REQ, MESSAGE_LIST_ENTRY, MESSAGE_LIST_END, CTL_CMD,
 CTL_OUTPUT, CTL_DONE) = (_TYPES["BW_IMSG_" + n] for n in (
     "HELLO", "MSG_OPEN", "MSG_RCPT", "MSG_DATA", "MSG_COMMIT", "MSG_ABORT",
     "MSG_OPEN_REPLY", "MSG_COMMIT_REPLY", "STATUS_REQ", "STATUS",
     "QUEUE_LIST_REQ", "QUEUE_ENTRY", "QUEUE_END", "MESSAGE_SHOW_REQ",
     "MESSAGE_INFO", "MESSAGE_RCPT", "MESSAGE_END", "MESSAGE_LIST_REQ",
     "MESSAGE_LIST_ENTRY", "MESSAGE_LIST_END", "CTL_CMD", "CTL_OUTPUT",
     "CTL_DONE"))

QUEUE_PRESSURE = _TYPES["BW_IMSG_QUEUE_PRESSURE"]
SCAN_SPAM, SCAN_VIRUS = 0x01, 0x02

SUBMIT = ["OK", "TEMPFAIL", "NOSPACE", "TOOBIG", "TOOMANY", "BUSY"]


class MsgOpen(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("size_hint", ctypes.c_uint64),
                ("flags", ctypes.c_uint32),
                ("sender", ctypes.c_char * ADDR_MAX),
                ("helo", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("client_addr", ctypes.c_char * HOSTADDR_MAX),
                ("client_name", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("listener", ctypes.c_char * NAME_MAX),
                ("dsn_ret", ctypes.c_uint32),
                ("envid", ctypes.c_char * (DSN_ENVID_MAX + 1)),
                ("policy", ctypes.c_char * NAME_MAX),
                ("scan_flags", ctypes.c_uint32)]


class MsgOpenReply(ctypes.Structure):
    _fields_ = [("reqid", ctypes.c_uint64), ("status", ctypes.c_uint32),
                ("qid", ctypes.c_char * (QID_LEN + 1))]


class MsgRcpt(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1)),
                ("rcpt", ctypes.c_char * ADDR_MAX),
                ("notify", ctypes.c_uint32),
                ("orcpt", ctypes.c_char * (DSN_ORCPT_MAX + 1))]


class MsgData(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1))]


class MsgCommit(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1)),
                ("size", ctypes.c_uint64), ("nrcpt", ctypes.c_uint32)]


class MsgAbort(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1))]


class MsgCommitReply(ctypes.Structure):
    _fields_ = [("qid", ctypes.c_char * (QID_LEN + 1)),
                ("status", ctypes.c_uint32)]


def frame(mtype, payload=b"", peerid=0, length=None, flags=0):
    """One frame; length overrides the header's length field."""
    if length is None:
        length = len(payload)
    return HDR.pack(mtype, length, peerid, os.getpid(), flags) + payload


class Peer:
    """A connection to a Breakwater socket, HELLO sent."""

    def __init__(self, path, role="smtpd", timeout=10, hello=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.stash = []     # commit replies that arrived while opening
        self.pressure = None    # the last QUEUE_PRESSURE payload
        if hello:
            h = Hello(IMSG_VERSION, ROLE[role], os.getpid(), 0)
            self.sock.sendall(frame(HELLO, bytes(h)))
            # the server answers with its own HELLO
            t, _, _ = self.recv()
            assert t == HELLO, "expected HELLO, got %d" % t

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, mtype, payload=b"", peerid=0):
        self.sock.sendall(frame(mtype, bytes(payload), peerid))

    def recv(self, timeout=None):
        """(type, peerid, payload) of the next frame; raises
        ConnectionError when the other side closes.  QUEUE_PRESSURE,
        which queued sends on its own, is kept in self.pressure (the
        latest payload) and not returned."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while True:
            f, self.buf = take_frame(self.buf)
            if f is not None and f[0] == QUEUE_PRESSURE:
                self.pressure = f[2]
                continue
            if f is not None:
                return f
            d = self.sock.recv(1 << 20)
            if not d:
                raise ConnectionError("closed by peer")
            self.buf += d

    def closed(self, timeout=5):
        """True if the other side closes the connection within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- the submission protocol, as smtpd speaks it -------------------
    def open(self, sender="sender@example.com", reqid=1, size_hint=0,
             scan_flags=0):
        o = MsgOpen(reqid, size_hint, 0, sender.encode(), b"client.test",
                    b"127.0.0.1", b"localhost", b"private")
        o.scan_flags = scan_flags
        self.send(MSG_OPEN, o)
        t, _, p = self.recv()
        while t == MSG_COMMIT_REPLY:    # pipelined commits
            self.stash.append(p)
            t, _, p = self.recv()
        assert t == MSG_OPEN_REPLY, "expected MSG_OPEN_REPLY, got %d" % t
        r = MsgOpenReply.from_buffer_copy(p)
        return SUBMIT[r.status], r.qid.decode()

    def rcpt(self, qid, rcpt):
        self.send(MSG_RCPT, MsgRcpt(qid.encode(), rcpt.encode(), 0))

    def data(self, qid, body):
        for i in range(0, len(body), DATA_CHUNK_MAX):
            self.send(MSG_DATA, bytes(MsgData(qid.encode())) +
                      body[i:i + DATA_CHUNK_MAX])

    def commit(self, qid, size, nrcpt, wait=True):
        self.send(MSG_COMMIT, MsgCommit(qid.encode(), size, nrcpt))
        if not wait:
            return None
        return self.commit_reply()

    def commit_reply(self):
        if self.stash:
            t, p = MSG_COMMIT_REPLY, self.stash.pop(0)
        else:
            t, _, p = self.recv()
        assert t == MSG_COMMIT_REPLY, "expected MSG_COMMIT_REPLY, got %d" % t
        r = MsgCommitReply.from_buffer_copy(p)
        return SUBMIT[r.status], r.qid.decode()

    def submit(self, rcpts, body, sender="sender@example.com", reqid=1,
               scan_flags=0):
        """A whole message; (status, qid)."""
        st, qid = self.open(sender, reqid, scan_flags=scan_flags)
        if st != "OK":
            return st, qid
        for r in rcpts:
            self.rcpt(qid, r)
        self.data(qid, body)
        return self.commit(qid, len(body), len(rcpts))


def fake_qid():
    return "%016X" % (int(time.time() * 1e6) - 12345)


# Each hostile case: a function of a fresh Peer that sends the bad input.
def case_short(p):
    # MSG_COMMIT with a payload shorter than its struct
    p.send_raw(frame(MSG_COMMIT, b"x" * 5))


def case_too_big(p):
    # a header announcing more than BW_IMSG_MAX_PAYLOAD
    p.send_raw(frame(MSG_DATA, b"", length=MAX_PAYLOAD + 1))


def case_unknown_type(p):
    p.send_raw(frame(999, b"abcd"))


def case_wrong_role(p):
    # a type only queued may send
    p.send_raw(frame(MSG_COMMIT_REPLY, bytes(MsgCommitReply(b"0" * 16, 0))))


def case_foreign_commit(p):
    p.send(MSG_COMMIT, MsgCommit(fake_qid().encode(), 10, 1))


def case_garbage(p):
    p.send_raw(os.urandom(64) + b"\xff" * 64)


def case_bad_qid(p):
    p.send(MSG_RCPT, MsgRcpt(b"../../etc/passwd", b"a@example.org", 0))


CASES = {
    "short": case_short,
    "too_big": case_too_big,
    "unknown_type": case_unknown_type,
    "wrong_role": case_wrong_role,
    "foreign_commit": case_foreign_commit,
    "garbage": case_garbage,
    "bad_qid": case_bad_qid,
}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        sys.stderr.write("usage: hostile_peer.py SOCKET {%s}\n" %
                         "|".join(sorted(CASES)))
        return 2
    p = Peer(sys.argv[1])
    CASES[sys.argv[2]](p)
    dropped = p.closed(5)
    print("dropped" if dropped else "still connected")
    return 0 if dropped else 1


if __name__ == "__main__":
    sys.exit(main())
