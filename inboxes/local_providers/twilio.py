"""A local stand-in for Twilio's REST API, speaking its wire format, for the tests and the demo:
`POST /2010-04-01/Accounts/<sid>/Messages.json` (form fields in, a message resource out), `GET
/2010-04-01/Accounts/<sid>.json` (the credential check), and media/recording downloads. Basic
auth is checked against the accounts it knows; every request is recorded; failures are queued on
demand (`fail_next`); an accepted message is followed by signed status callbacks (sent, then
delivered) to its StatusCallback, as Twilio would.

Run alone: `python -m inboxes.local_providers.twilio --port 8766`.
"""

import argparse
import base64
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.request_validator import RequestValidator


@dataclass
class TwilioState:
    accounts: dict[str, str] = field(default_factory=dict)  # sid -> auth token
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    failures: list[tuple[int, int, str]] = field(default_factory=list)  # status, code, message
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    statuses: tuple[str, ...] = ("sent", "delivered")
    lock: threading.Lock = field(default_factory=threading.Lock)


def signed_post(url: str, params: dict[str, str], auth_token: str) -> int:
    """POST form fields to the hub as Twilio does, with X-Twilio-Signature over URL and fields."""
    signature = RequestValidator(auth_token).compute_signature(url, params)
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _answer(self, status: int, payload: dict | bytes, content_type: str = "") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _account(self) -> str | None:
        header = self.headers.get("Authorization", "")
        try:
            sid, _, token = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            return None
        return sid if sid and self.server.state.accounts.get(sid) == token else None

    def _handle(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())) if length else {}
        path = self.path.split("?")[0]
        with state.lock:
            state.requests.append((method, path, form))
            failure = state.failures.pop(0) if state.failures else None
        if failure is not None:
            status, code, message = failure
            self._answer(status, {"code": code, "message": message, "status": status})
            return
        sid = self._account()
        if sid is None:
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        if path.startswith("/media/"):
            stored = state.media.get(path.removeprefix("/media/"))
            if stored is None:
                self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            else:
                self._answer(200, stored[0], stored[1])
            return
        if method == "GET" and path == f"/2010-04-01/Accounts/{sid}.json":
            self._answer(200, {"sid": sid, "status": "active", "friendly_name": "Local"})
            return
        if method == "POST" and path == f"/2010-04-01/Accounts/{sid}/Messages.json":
            if not form.get("To", "").startswith("+"):
                self._answer(
                    400,
                    {"code": 21211, "message": "The 'To' number is not valid.", "status": 400},
                )
                return
            message_sid = "SM" + secrets.token_hex(16)
            self._answer(
                201,
                {
                    "sid": message_sid,
                    "status": "queued",
                    "to": form["To"],
                    "from": form.get("From"),
                },
            )
            if form.get("StatusCallback"):
                threading.Thread(
                    target=self.server.callback,
                    args=(form["StatusCallback"], sid, message_sid, form),
                    daemon=True,
                ).start()
            return
        self._answer(404, {"code": 20404, "message": "Not found", "status": 404})

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: TwilioState

    def callback(self, url: str, sid: str, message_sid: str, form: dict[str, str]) -> None:
        for status in self.state.statuses:
            time.sleep(0.3)
            params = {
                "AccountSid": sid,
                "MessageSid": message_sid,
                "MessageStatus": status,
                "To": form.get("To", ""),
                "From": form.get("From", ""),
            }
            try:
                signed_post(url, params, self.state.accounts[sid])
            except OSError:
                return


class LocalTwilioServer:
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, port), _Handler)
        self._server.state = TwilioState()
        self.url = f"http://{host}:{self._server.server_address[1]}"

    @property
    def state(self) -> TwilioState:
        return self._server.state

    def add_account(self, sid: str, auth_token: str) -> None:
        self.state.accounts[sid] = auth_token

    def add_media(self, media_id: str, content: bytes, content_type: str) -> str:
        self.state.media[media_id] = (content, content_type)
        return f"{self.url}/media/{media_id}"

    def fail_next(self, status: int, code: int, message: str = "Injected", times: int = 1) -> None:
        with self.state.lock:
            self.state.failures.extend([(status, code, message)] * times)

    def sends(self) -> list[dict[str, str]]:
        return [
            form for method, path, form in self.state.requests if path.endswith("/Messages.json")
        ]

    def start(self) -> "LocalTwilioServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LocalTwilioServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--account", action="append", default=[], help="SID:TOKEN")
    args = parser.parse_args()
    server = LocalTwilioServer(args.port)
    for account in args.account:
        sid, _, token = account.partition(":")
        server.add_account(sid, token)
    print(f"Local Twilio API on {server.url}", flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
