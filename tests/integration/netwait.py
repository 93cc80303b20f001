"""Waiting for things on loopback: a free port, an open port, a condition.
Shared by the integration tests (bwtest.py) and the benchmarks
(bench/benchlib.py); no dependency on a build."""

import random
import socket
import time

# Ports handed out below the kernel's ephemeral range: a port the kernel
# picked for us (bind to 0) is free now, but the kernel may hand it to
# any outgoing connection before the daemon binds it ("Address already in
# use" in a parallel make check).  Outside that range only another
# free_port() can take it.
FREE_PORT_RANGE = (20000, 32000)
FREE_PORT_TRIES = 200


_GIVEN = set()      # ports handed out by this process: never twice


def free_port(host="127.0.0.1"):
    """A TCP port that is free right now on host, and not one this
    process was already given (a test asks for several before anything
    binds them; two random picks may be the same port)."""
    lo, hi = FREE_PORT_RANGE
    for _ in range(FREE_PORT_TRIES):
        port = random.randint(lo, hi)
        if port in _GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            _GIVEN.add(port)
            return port
    for _ in range(FREE_PORT_TRIES):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port
    raise RuntimeError("no free port on %s" % host)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(cond, timeout=10.0, interval=0.05, what="condition",
             error=TimeoutError):
    """Call cond() until it returns a true value (returned) or timeout
    passes (error raised, naming what and the last exception)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_exc = e
        time.sleep(interval)
    raise error("timed out after %.1fs waiting for %s%s" % (
        timeout, what, (": %r" % last_exc) if last_exc else ""))
