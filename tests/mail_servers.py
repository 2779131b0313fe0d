"""Real mail servers for the email channel's tests, started on loopback and stopped after: Dovecot
(IMAP, Debian's dovecot-imapd) run as an unprivileged user, and aiosmtpd (SMTP) in-process."""

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
# the user Dovecot runs as when the tests run as root; otherwise the tests' own user
UNPRIVILEGED = "nobody"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Dovecot:
    """One Dovecot with a plain IMAP port (STARTTLS offered) and an implicit-TLS port."""

    root: Path
    port: int = 0
    tls_port: int = 0
    users: dict[str, str] = field(default_factory=dict)
    _run_as: list[str] = field(default_factory=list)

    def start(self) -> "Dovecot":
        self.port, self.tls_port = free_port(), free_port()
        for name in ("run", "state", "home"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        cert, key = _self_signed_certificate(self.root)
        user = UNPRIVILEGED if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        group = "nogroup" if os.geteuid() == 0 else ""
        self._run_as = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
        (self.root / "passwd").write_text("")
        (self.root / "dovecot.conf").write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
{f"default_internal_group = {group}" if group else ""}
default_login_user = {user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} {f"gid={group}" if group else ""} home={self.root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{user}:{group}", str(self.root)], check=True)
        subprocess.run([*self._run_as, DOVECOT, "-c", str(self.root / "dovecot.conf")], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError((self.root / "dovecot.log").read_text())

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def add_user(self, address: str, password: str) -> None:
        self.users[address] = password
        with (self.root / "passwd").open("a") as passwd:
            passwd.write(f"{address}:{{PLAIN}}{password}\n")

    def connect(self, address: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port)
        imap.login(address, self.users[address])
        return imap

    def deliver(self, address: str, mail: bytes | EmailMessage, folder: str = "INBOX") -> None:
        """Put a mail into the mailbox, as the mail server would on arrival (IMAP APPEND)."""
        raw = mail.as_bytes() if isinstance(mail, EmailMessage) else mail
        imap = self.connect(address)
        try:
            imap.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
        finally:
            imap.logout()

    def flags(self, address: str) -> list[bytes]:
        """Each message's FETCH FLAGS answer in the inbox, oldest first."""
        imap = self.connect(address)
        try:
            _, count = imap.select("INBOX")
            if int(count[0]) == 0:
                return []
            _, data = imap.fetch("1:*", "(FLAGS)")
            return [line for line in data if line]
        finally:
            imap.logout()


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), mail))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """aiosmtpd on loopback, recording every mail it accepts; AUTH with one user and password."""

    username: str = "support@example.test"
    password: str = "smtp-secret"
    port: int = 0
    controller: Controller | None = None
    recorder: _Recorder = field(default_factory=_Recorder)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> "SmtpServer":
        self.port = free_port()
        self.controller = Controller(
            self.recorder,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[tuple[str, list[str], EmailMessage]]:
        return self.recorder.messages


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="hub-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
