"""The imsg framing and the payload structs of common/imsg_catalog.h for
Python test clients (fake queued, fake deliverd, hostile peers): native
byte order and alignment, like the C side.  Type numbers and the protocol
version are read from the catalog itself (bwtest.imsg_catalog)."""

import ctypes
import socket
import struct

import bwtest

HDR = struct.Struct("=5I")              # type, len, peerid, pid, flags
ROLE = {"smtpd": 1 << 0, "queued": 1 << 1, "deliverd": 1 << 2,
        "dnscached": 1 << 3, "controld": 1 << 4, "bwctl": 1 << 5}
QID_LEN = 16
NAME_MAX = 32
DOMAIN_MAX = 255
ADDR_MAX = 256
DSN_MAX = 16
HOSTADDR_MAX = 64
RELAY_MAX = DOMAIN_MAX + HOSTADDR_MAX + 16
TLS_TEXT_MAX = 128
REPLY_MAX = 512
CHUNK_MAX = 32 * 1024
DSN_ENVID_MAX = 100
DSN_ORCPT_MAX = 500
MSGF_8BITMIME = 0x01
DLVF_PROBE = 0x0100
DLVF_BOUNCE = 0x0200
DELIVERED, TEMPFAIL, PERMFAIL = 0, 1, 2

IMSG_VERSION, TYPES = bwtest.imsg_catalog()
T = {k[len("BW_IMSG_"):]: v for k, v in TYPES.items()}


class Hello(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("role", ctypes.c_uint32),
                ("pid", ctypes.c_uint32), ("worker", ctypes.c_uint32)]


class DlvJob(ctypes.Structure):
    _fields_ = [("jobid", ctypes.c_uint64),
                ("qid", ctypes.c_char * (QID_LEN + 1)),
                ("gateway", ctypes.c_char * NAME_MAX),
                ("domain", ctypes.c_char * (DOMAIN_MAX + 1)),
                ("sender", ctypes.c_char * ADDR_MAX),
                ("size", ctypes.c_uint64), ("created", ctypes.c_int64),
                ("nrcpt", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("attempts", ctypes.c_uint32),
                ("dsn_ret", ctypes.c_uint32),
                ("envid", ctypes.c_char * (DSN_ENVID_MAX + 1))]


class DlvRetry(ctypes.Structure):
    _fields_ = [("gateway", ctypes.c_char * NAME_MAX),
                ("domain", ctypes.c_char * (DOMAIN_MAX + 1))]


class DlvRcpt(ctypes.Structure):
    _fields_ = [("jobid", ctypes.c_uint64), ("index", ctypes.c_uint32),
                ("rcpt", ctypes.c_char * ADDR_MAX),
                ("notify", ctypes.c_uint32),
                ("orcpt", ctypes.c_char * (DSN_ORCPT_MAX + 1))]


class DlvResult(ctypes.Structure):
    _fields_ = [("jobid", ctypes.c_uint64), ("index", ctypes.c_uint32),
                ("status", ctypes.c_uint32),
                ("dsn", ctypes.c_char * DSN_MAX),
                ("relay", ctypes.c_char * RELAY_MAX),
                ("reply", ctypes.c_char * REPLY_MAX),
                ("flags", ctypes.c_uint32),
                ("tls", ctypes.c_char * TLS_TEXT_MAX)]


class DlvDone(ctypes.Structure):
    _fields_ = [("jobid", ctypes.c_uint64), ("unreachable", ctypes.c_uint32),
                ("connections", ctypes.c_uint32),
                ("reason", ctypes.c_char * REPLY_MAX)]


def take_frame(buf):
    """The first whole frame of buf: ((mtype, peerid, payload), rest), or
    (None, buf) while more bytes are needed."""
    if len(buf) < HDR.size:
        return None, buf
    mtype, mlen, peerid, _pid, _flags = HDR.unpack_from(buf)
    if len(buf) < HDR.size + mlen:
        return None, buf
    return (mtype, peerid, buf[HDR.size:HDR.size + mlen]), \
        buf[HDR.size + mlen:]


def read_frames(sock, on_frame, stopping, timeout=0.3, bufsize=262144):
    """Read imsg frames from sock until the peer closes or stopping()
    is true; on_frame(mtype, payload) for each whole frame."""
    buf = b""
    sock.settimeout(timeout)
    while not stopping():
        try:
            data = sock.recv(bufsize)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            break
        buf += data
        while True:
            f, buf = take_frame(buf)
            if f is None:
                break
            on_frame(f[0], f[2])
