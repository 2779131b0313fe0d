"""A local stand-in for Meta's Graph API, speaking its documented wire format, for the tests and
`make run` (nothing here reaches the internet).

It answers what the hub calls: `POST /<version>/<phone-number-id>/messages` (a `wamid.` id back),
the Send API of Messenger and Instagram on the same path (`{"recipient": ...}` in: an `m_` id
back), the profile API (`GET /<version>/<psid>?fields=...`, for ids given to `add_profile`),
`POST /<version>/<phone-number-id>/media` (an upload), `GET /<version>/<media-id>` (the media's
URL) and the download itself, `GET /<version>/<phone-number-id>` (the credential check). It
records every request (path, Authorization header, JSON body) and answers errors, timeouts and
rate limits on demand, either from Python (`server.fail_next(...)`) or over HTTP (`POST
/_local/fail`), so a test in another process can steer it. When a phone number is subscribed
(`subscribe()` or `POST /_local/subscribe`), each accepted send is followed by signed status
webhooks to the hub (sent, then delivered), as Meta would.

Run alone: `python -m inboxes.local_providers.graph --port 8765`.
"""

import argparse
import email.policy
import hashlib
import hmac
import itertools
import json
import secrets
import struct
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    authorization: str
    content_type: str
    body: bytes
    # the HTTP status answered (0: none, e.g. a hang); a send counts as accepted when 200
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Failure:
    status: int  # 0: hang for `delay` seconds without answering (a timeout)
    code: int = 0
    message: str = ""
    delay: float = 0.0
    retry_after: str = ""


@dataclass
class Subscription:
    webhook_url: str
    app_secret: str
    business_account_id: str = "0"
    # statuses sent after each accepted message, in order
    statuses: tuple[str, ...] = ("sent", "delivered")
    # whatsapp, or page / instagram (Messenger's format: delivery and read receipts)
    channel: str = "whatsapp"


@dataclass
class GraphState:
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    # Messenger / Instagram profiles by page-scoped id (the profile API)
    profiles: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


def sign(body: bytes, app_secret: str) -> str:
    """Meta's X-Hub-Signature-256 of a webhook body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def sample_png(width: int = 160, height: int = 100) -> bytes:
    """A small real PNG (a teal rectangle): the demo's media and the browser tests' image."""
    raw = (b"\x00" + bytes([20, 150, 140]) * width) * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def status_payload(
    phone_number_id: str, business_account_id: str, wamid: str, recipient: str, status: str
) -> dict:
    """A WhatsApp status webhook as Meta sends it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business_account_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": phone_number_id,
                                "phone_number_id": phone_number_id,
                            },
                            "statuses": [
                                {
                                    "id": wamid,
                                    "status": status,
                                    "timestamp": str(int(time.time())),
                                    "recipient_id": recipient,
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def receipt_payload(channel: str, page_id: str, recipient: str, mid: str, status: str) -> dict:
    """A Messenger (`page`) or Instagram receipt webhook: delivery (Messenger only, with the
    message id and a watermark) or read (Messenger: a watermark; Instagram: the message id)."""
    now = int(time.time() * 1000)
    if status == "delivered":
        receipt: dict = {"delivery": {"mids": [mid], "watermark": now}}
    elif channel == "instagram":
        receipt = {"read": {"mid": mid}}
    else:
        receipt = {"read": {"watermark": now}}
    return {
        "object": channel,
        "entry": [
            {
                "id": page_id,
                "time": now,
                "messaging": [
                    {
                        "sender": {"id": recipient},
                        "recipient": {"id": page_id},
                        "timestamp": now,
                        **receipt,
                    }
                ],
            }
        ],
    }


def post_signed(url: str, payload: dict, app_secret: str) -> int:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status


def _graph_error(status: int, code: int, message: str) -> dict:
    return {
        "error": {
            "message": message,
            "type": "OAuthException" if status in (401, 403) else "GraphMethodException",
            "code": code,
            "error_subcode": 0,
            "fbtrace_id": secrets.token_hex(8),
        }
    }


def _form_fields(content_type: str, body: bytes) -> dict[str, tuple[bytes, str]]:
    """The parts of a multipart/form-data body by name: bytes and content type."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_payload(decode=True) or b"", part.get_content_type())
    return fields


def _uploaded_file(content_type: str, body: bytes) -> tuple[bytes, str] | None:
    """The `file` part of a multipart/form-data upload (as Meta's media endpoint takes it): its
    bytes and MIME type (the `type` field's, else the part's); None when there is none."""
    if not content_type.startswith("multipart/form-data"):
        return None
    fields = _form_fields(content_type, body)
    if "file" not in fields:
        return None
    content, part_type = fields["file"]
    declared = fields.get("type", (b"", ""))[0].decode(errors="replace").strip()
    return content, declared or part_type


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    recorded: RecordedRequest | None = None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    # --- plumbing
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        recorded = getattr(self, "recorded", None)
        if recorded is not None:
            recorded.status = status
        self.send_response(status)
        content_type = "application/octet-stream" if isinstance(payload, bytes) else None
        for name, value in (headers or {}).items():
            if name.lower() == "content-type":
                content_type = value
            else:
                self.send_header(name, value)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _parts(self) -> list[str]:
        return [part for part in self.path.split("?")[0].split("/") if part]

    def _record(self, body: bytes) -> None:
        state = self.server.state
        self.recorded = RecordedRequest(
            self.command,
            self.path,
            self.headers.get("Authorization", ""),
            self.headers.get("Content-Type", ""),
            body,
        )
        with state.lock:
            state.requests.append(self.recorded)

    def _failure(self) -> bool:
        """Answer the next queued failure, if any (True when answered)."""
        state = self.server.state
        with state.lock:
            failure = state.failures.pop(0) if state.failures else None
        if failure is None:
            return False
        if failure.status == 0:
            time.sleep(failure.delay or 30)
            self.close_connection = True
            return True
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        self._answer(
            failure.status,
            _graph_error(failure.status, failure.code, failure.message or "Injected failure"),
            headers,
        )
        return True

    def _authorized(self) -> bool:
        if self.headers.get("Authorization", "").startswith("Bearer ") and len(
            self.headers["Authorization"]
        ) > len("Bearer "):
            return True
        self._answer(401, _graph_error(401, 190, "Invalid OAuth access token."))
        return False

    # --- verbs
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.recorded = None
        parts = self._parts()
        state = self.server.state
        if parts[:2] == ["_local", "requests"]:
            with state.lock:
                recorded = [
                    {
                        "method": r.method,
                        "path": r.path,
                        "authorization": r.authorization,
                        "status": r.status,
                        "json": r.json if r.content_type.startswith("application/json") else None,
                    }
                    for r in state.requests
                ]
            self._answer(200, recorded)
            return
        self._record(b"")
        if self._failure() or not self._authorized():
            return
        if parts[:1] == ["media-download"] and len(parts) == 2:
            stored = state.media.get(parts[1])
            if stored is None:
                self._answer(404, _graph_error(404, 100, "Unknown media."))
            else:
                self._answer(200, stored[0], {"Content-Type": stored[1]})
            return
        if len(parts) == 2 and parts[1] in state.profiles:
            wanted = parse_qs(urlsplit(self.path).query).get("fields", [""])[0].split(",")
            profile = state.profiles[parts[1]]
            self._answer(200, {"id": parts[1], **{k: v for k, v in profile.items() if k in wanted}})
            return
        if len(parts) == 2:
            object_id = parts[1]
            stored = state.media.get(object_id)
            if stored is not None:
                self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "url": f"{self.server.url}/media-download/{object_id}",
                        "mime_type": stored[1],
                        "sha256": hashlib.sha256(stored[0]).hexdigest(),
                        "file_size": len(stored[0]),
                        "id": object_id,
                    },
                )
                return
            # a phone number id: the credential check
            self._answer(
                200,
                {
                    "id": object_id,
                    "display_phone_number": "+1 555-0100",
                    "verified_name": "Local test number",
                    "quality_rating": "GREEN",
                },
            )
            return
        self._answer(404, _graph_error(404, 100, "Unknown path."))

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self.recorded = None
        parts = self._parts()
        body = self._body()
        state = self.server.state
        if parts[:1] == ["_local"]:
            self._control(parts[1:], json.loads(body or b"{}"))
            return
        self._record(body)
        if self._failure() or not self._authorized():
            return
        if len(parts) == 3 and parts[2] == "messages":
            self._accept_message(parts[1], body)
            return
        if len(parts) == 3 and parts[2] == "media":
            upload = _uploaded_file(self.headers.get("Content-Type", ""), body)
            if upload is None:
                self._answer(400, _graph_error(400, 100, "Param file must be a file upload."))
                return
            media_id = f"{next(state.counter)}{secrets.randbelow(10**9)}"
            state.media[media_id] = upload
            self._answer(200, {"id": media_id})
            return
        self._answer(404, _graph_error(404, 100, "Unknown path."))

    def _accept_send_api(self, page_id: str, body: bytes) -> None:
        """Messenger and Instagram's Send API: JSON, or a multipart upload whose `recipient`
        and `message` fields are JSON strings."""
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("multipart/form-data"):
                fields = _form_fields(content_type, body)
                recipient = json.loads(fields["recipient"][0])["id"]
                if "filedata" not in fields:
                    raise KeyError("filedata")
            else:
                recipient = json.loads(body)["recipient"]["id"]
        except (ValueError, KeyError, TypeError):
            self._answer(400, _graph_error(400, 100, "Invalid parameter: recipient is required."))
            return
        mid = f"m_LOCAL{next(self.server.state.counter):06d}{secrets.token_hex(6)}"
        self._answer(200, {"recipient_id": recipient, "message_id": mid})
        subscription = self.server.state.subscriptions.get(page_id)
        if subscription is not None:
            threading.Thread(
                target=self.server.send_receipts,
                args=(subscription, page_id, mid, recipient),
                daemon=True,
            ).start()

    def _accept_message(self, phone_number_id: str, body: bytes) -> None:
        if self.headers.get("Content-Type", "").startswith("multipart/form-data") or (
            b'"recipient"' in body
        ):
            self._accept_send_api(phone_number_id, body)
            return
        try:
            message = json.loads(body)
            recipient = message["to"]
        except (ValueError, KeyError, TypeError):
            self._answer(400, _graph_error(400, 100, "Invalid parameter: to is required."))
            return
        wamid = f"wamid.LOCAL{next(self.server.state.counter):06d}{secrets.token_hex(6)}"
        self._answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": recipient, "wa_id": recipient}],
                "messages": [{"id": wamid}],
            },
        )
        subscription = self.server.state.subscriptions.get(phone_number_id)
        if subscription is not None:
            threading.Thread(
                target=self.server.send_statuses,
                args=(subscription, phone_number_id, wamid, recipient),
                daemon=True,
            ).start()

    def _control(self, parts: list[str], command: dict) -> None:
        server = self.server
        if parts == ["fail"]:
            server.fail_next(
                command.get("status", 500),
                times=command.get("times", 1),
                code=command.get("code", 1),
                message=command.get("message", ""),
                delay=command.get("delay", 0.0),
                retry_after=str(command.get("retry_after", "")),
            )
        elif parts == ["subscribe"]:
            server.subscribe(
                command["phone_number_id"],
                webhook_url=command["webhook_url"],
                app_secret=command["app_secret"],
                business_account_id=command.get("business_account_id", "0"),
                channel=command.get("channel", "whatsapp"),
                statuses=tuple(command.get("statuses", ("sent", "delivered"))),
            )
        elif parts == ["profile"]:
            server.add_profile(command["id"], command.get("profile", {}))
        elif parts == ["media"]:
            server.add_media(
                command["id"], command.get("content", "").encode(), command.get("mime_type", "")
            )
        elif parts == ["reset"]:
            server.reset()
        else:
            self._answer(404, {"error": "unknown control"})
            return
        self._answer(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: GraphState
    url: str

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        code: int = 1,
        message: str = "",
        delay: float = 0.0,
        retry_after: str = "",
    ) -> None:
        with self.state.lock:
            self.state.failures.extend(
                Failure(status, code, message, delay, retry_after) for _ in range(times)
            )

    def subscribe(
        self,
        phone_number_id: str,
        *,
        webhook_url: str,
        app_secret: str,
        business_account_id: str = "0",
        statuses: tuple[str, ...] = ("sent", "delivered"),
        channel: str = "whatsapp",
    ) -> None:
        """After each accepted send to this account, post the statuses to the hub as Meta
        would (`channel`: whatsapp, or page / instagram for the Send API's receipts)."""
        self.state.subscriptions[phone_number_id] = Subscription(
            webhook_url, app_secret, business_account_id, statuses, channel
        )

    def add_profile(self, scoped_id: str, profile: dict) -> None:
        """What the profile API answers for a page-scoped id (first_name, last_name, name,
        username...)."""
        self.state.profiles[scoped_id] = dict(profile)

    def send_receipts(
        self, subscription: Subscription, page_id: str, mid: str, recipient: str
    ) -> None:
        for status in subscription.statuses:
            if status == "sent":
                continue  # the Send API's answer is the `sent`
            time.sleep(0.3)
            payload = receipt_payload(subscription.channel, page_id, recipient, mid, status)
            try:
                post_signed(subscription.webhook_url, payload, subscription.app_secret)
            except OSError:
                return

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        self.state.media[media_id] = (content, mime_type)

    def reset(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.failures.clear()

    def send_statuses(
        self, subscription: Subscription, phone_number_id: str, wamid: str, recipient: str
    ) -> None:
        for status in subscription.statuses:
            time.sleep(0.3)
            payload = status_payload(
                phone_number_id, subscription.business_account_id, wamid, recipient, status
            )
            try:
                post_signed(subscription.webhook_url, payload, subscription.app_secret)
            except OSError:
                return  # the hub is gone; Meta would retry, the local server does not


class LocalGraphServer:
    """Start on a free loopback port (or `port`), stop when done; a context manager too."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, port), _Handler)
        self._server.state = GraphState()
        self._server.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.state.lock:
            return list(self._server.state.requests)

    def sends(self) -> list[RecordedRequest]:
        """The message sends received (POST .../messages), oldest first."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/messages")]

    def accepted_sends(self) -> list[RecordedRequest]:
        """The sends answered 200 (a message WhatsApp would deliver), oldest first."""
        return [r for r in self.sends() if r.status == 200]

    def uploads(self) -> list[tuple[bytes, str]]:
        """The files uploaded to the media endpoint (bytes, MIME type), oldest first."""
        with self._server.state.lock:
            media = list(self._server.state.media.values())
        return media

    def __getattr__(self, name: str) -> Any:
        # fail_next, subscribe, add_media, reset
        return getattr(self._server, name)

    def start(self) -> "LocalGraphServer":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LocalGraphServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = LocalGraphServer(args.port, args.host)
    print(f"Local Graph API on {server.url}", flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
