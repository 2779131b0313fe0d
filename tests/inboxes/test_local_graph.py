"""The local Graph API stand-in answers in Meta's wire format, records requests, fails on demand
and calls the hub back with signed status webhooks."""

import json
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from inboxes.local_providers.graph import LocalGraphServer, sign


def _post(url: str, payload: dict, token: str = "token") -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def graph():
    with LocalGraphServer() as server:
        yield server


def test_a_send_is_answered_with_a_wamid_and_recorded(graph):
    status, answer = _post(f"{graph.url}/v21.0/123/messages", {"to": "15551234567", "type": "text"})
    assert status == 200
    assert answer["messages"][0]["id"].startswith("wamid.")
    [sent] = graph.sends()
    assert sent.authorization == "Bearer token"
    assert sent.json == {"to": "15551234567", "type": "text"}


def test_failures_on_demand_use_graphs_error_format(graph):
    graph.fail_next(429, times=2, code=130429, retry_after="1")
    assert _post(f"{graph.url}/v21.0/123/messages", {"to": "1"})[1]["error"]["code"] == 130429
    assert _post(f"{graph.url}/v21.0/123/messages", {"to": "1"})[0] == 429
    assert _post(f"{graph.url}/v21.0/123/messages", {"to": "1"})[0] == 200
    assert _post(f"{graph.url}/v21.0/123/messages", {"to": "1"}, token="")[0] == 401


def test_media_is_described_then_downloaded_with_the_token(graph):
    graph.add_media("777", b"\x89PNG...", "image/png")
    request = urllib.request.Request(
        f"{graph.url}/v21.0/777", headers={"Authorization": "Bearer t"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        described = json.loads(response.read())
    assert described["mime_type"] == "image/png" and described["file_size"] == 7
    download = urllib.request.Request(described["url"], headers={"Authorization": "Bearer t"})
    with urllib.request.urlopen(download, timeout=5) as response:
        assert response.read() == b"\x89PNG..."


def test_a_subscribed_number_gets_signed_status_webhooks(graph):
    received: list[tuple[dict, str]] = []

    class Hub(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((json.loads(body), self.headers["X-Hub-Signature-256"]))
            assert self.headers["X-Hub-Signature-256"] == sign(body, "s3cret")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    hub = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    Thread(target=hub.serve_forever, daemon=True).start()
    try:
        graph.subscribe(
            "123", webhook_url=f"http://127.0.0.1:{hub.server_address[1]}/", app_secret="s3cret"
        )
        _, answer = _post(f"{graph.url}/v21.0/123/messages", {"to": "15551234567"})
        wamid = answer["messages"][0]["id"]
        for _ in range(50):
            if len(received) == 2:
                break
            time.sleep(0.1)
        statuses = [
            payload["entry"][0]["changes"][0]["value"]["statuses"][0] for payload, _ in received
        ]
        assert [(s["id"], s["status"]) for s in statuses] == [(wamid, "sent"), (wamid, "delivered")]
    finally:
        hub.shutdown()
        hub.server_close()
