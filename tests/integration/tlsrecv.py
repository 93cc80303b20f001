"""TLS peers for the outbound TLS tests (test_tls_out, test_production):
certificates made with the openssl CLI (a test CA, leaf certificates
signed by it) and a threaded SMTP receiver that offers STARTTLS with one
and records what the client did."""

import os
import socket
import ssl
import subprocess
import threading


# -- certificates -------------------------------------------------------------

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
            "-out", crt, "-days", "2", "-subj", "/CN=%s test CA" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return crt, key


def make_leaf(d, tag, dns, ca, ip=None):
    """A certificate for the DNS name dns (or the address ip) signed by ca
    (crt, key)."""
    key = os.path.join(d, tag + ".key")
    csr = os.path.join(d, tag + ".csr")
    crt = os.path.join(d, tag + ".pem")
    ext = os.path.join(d, tag + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" %
                ("IP:" + ip if ip else "DNS:" + dns))
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=%s" % dns)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
            "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return crt, key


# -- receivers ----------------------------------------------------------------

class Receiver(threading.Thread):
    """An SMTP server on addr:port.  cert: (crt, key) offers STARTTLS with it;
    mode "stall": 220 to STARTTLS, then silence; "garbage": 220, then SMTP
    text instead of a ServerHello."""

    def __init__(self, addr, name, cert=None, mode="ok", port=25):
        super().__init__(daemon=True)
        self.addr, self.name, self.mode = addr, name, mode
        self.ctx = None
        if cert is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert[0], cert[1])
        self.sessions = []      # {"starttls", "tls", "mails", "cmds"}
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((addr, port))
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
            threading.Thread(target=self.session, args=(c,),
                             daemon=True).start()

    def mails(self):
        with self.lock:
            return [m for s in self.sessions for m in s["mails"]]

    def commands(self):
        """Every command verb received, all sessions, in order."""
        with self.lock:
            return [v for s in self.sessions for v in s["cmds"]]

    def session(self, c):
        st = {"starttls": False, "tls": None, "cipher": None, "mails": [],
              "cmds": []}
        with self.lock:
            self.sessions.append(st)
        c.settimeout(30)
        try:
            self.dialogue(c, st)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            c.close()

    def dialogue(self, c, st):
        f = c.makefile("rwb")

        def reply(text):
            f.write(text.encode() + b"\r\n")
            f.flush()
        reply("220 %s ESMTP test receiver" % self.name)
        mail, rcpts = None, []
        for _ in range(1000):
            line = f.readline(4096)
            if not line:
                return
            cmd = line.decode(errors="replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            st["cmds"].append(verb)
            if verb == "EHLO":
                ext = ["250-%s" % self.name, "250-PIPELINING",
                       "250-8BITMIME"]
                if self.ctx is not None and st["tls"] is None:
                    ext.append("250-STARTTLS")
                ext.append("250 ENHANCEDSTATUSCODES")
                reply("\r\n".join(ext))
            elif verb == "HELO":
                reply("250 %s" % self.name)
            elif verb == "STARTTLS" and self.ctx is not None:
                st["starttls"] = True
                reply("220 2.0.0 go ahead")
                if self.mode == "stall":
                    c.settimeout(60)
                    while c.recv(4096):     # the ClientHello, unanswered
                        pass
                    return
                if self.mode == "garbage":
                    c.recv(4096)
                    c.sendall(b"220 this is no ServerHello\r\n" * 40)
                    c.settimeout(10)
                    while c.recv(4096):
                        pass
                    return
                c = self.ctx.wrap_socket(c, server_side=True)
                st["tls"] = c.version()
                st["cipher"] = c.cipher()[0]
                f = c.makefile("rwb")
            elif verb == "MAIL":
                mail, rcpts = cmd, []
                reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                reply("250 2.1.5 ok")
            elif verb == "DATA":
                reply("354 go ahead")
                data = []
                while True:
                    ln = f.readline(65536)
                    if not ln or ln == b".\r\n":
                        break
                    data.append(ln)
                with self.lock:
                    st["mails"].append((mail, rcpts, b"".join(data)))
                reply("250 2.0.0 ok queued")
            elif verb == "RSET":
                mail, rcpts = None, []
                reply("250 2.0.0 ok")
            elif verb == "QUIT":
                reply("221 2.0.0 bye")
                return
            else:
                reply("502 5.5.1 unknown")

    def stop(self):
        self.stopping = True
        self.join(5)
        self.ls.close()
