"""An SMS and a voicemail in Chromium: a signed Twilio webhook brings the customer's SMS into the
inbox, the agent's reply goes out through the (local) Messages API and shows delivered when
Twilio's status callback arrives; a voicemail plays in the chat."""

import time
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect
from twilio.request_validator import RequestValidator

from companies.models import Company
from conversations.models import Conversation, Message
from conversations.services.attachments import download_inbound_attachment
from conversations.tasks import deliver_message
from inboxes.inbound import process_webhook_delivery
from inboxes.local_providers.twilio import LocalTwilioServer
from inboxes.models import WebhookDelivery
from tests.browser.test_inbox_work import open_conversation, sign_in
from tests.factories import InboxFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SID, TOKEN, NUMBER = "AC" + "2" * 32, "browser-token", "+14155550199"


def signed(url: str, params: dict[str, str]) -> int:
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    request = Request(
        url,
        data=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    with urlopen(request, timeout=10) as response:  # noqa: S310 - the live server
        return response.status


def process(inbox) -> None:
    for pk in WebhookDelivery.objects.filter(inbox=inbox, state="received").values_list(
        "pk", flat=True
    ):
        process_webhook_delivery(company_id=inbox.company_id, delivery_id=pk)


def test_sms_in_reply_out_delivered_and_a_voicemail_plays(page: Page, live_server, demo, settings):
    with LocalTwilioServer() as twilio:
        twilio.add_account(SID, TOKEN)
        settings.TWILIO_API_BASE_URL = twilio.url
        settings.PUBLIC_BASE_URL = live_server.url
        inbox = InboxFactory(
            company=Company.objects.get(slug="acme"),
            kind="phone",
            name="Acme phone line",
            credentials={"account_sid": SID, "phone_number": NUMBER, "auth_token": TOKEN},
        )
        url = live_server.url + reverse("inboxes:webhook", args=["phone", inbox.public_key])
        caller = {"AccountSid": SID, "From": "+15557770000", "To": NUMBER}
        assert (
            signed(url, {**caller, "MessageSid": "SM" + "d" * 32, "Body": "Hi, can I return it?"})
            == 200
        )
        recording = twilio.add_media("RE9.mp3", b"ID3" + b"\0" * 64, "audio/mpeg")
        assert (
            signed(
                url,
                {
                    **caller,
                    "CallSid": "CA" + "e" * 32,
                    "RecordingUrl": recording.removesuffix(".mp3"),
                    "RecordingSid": "RE9",
                    "RecordingDuration": "42",
                },
            )
            == 200
        )
        process(inbox)
        voicemail = Message.objects.get(inbox=inbox, kind="voice")
        download_inbound_attachment(
            company_id=inbox.company_id, attachment_id=voicemail.attachments.get().pk
        )
        conversation = Conversation.objects.get(inbox=inbox)

        sign_in(page, live_server.url)
        open_conversation(page, live_server.url, conversation)
        chat = page.locator("#chat-messages")
        expect(chat).to_contain_text("Hi, can I return it?")
        expect(chat).to_contain_text("Voicemail (0:42)")
        audio = chat.locator("audio")
        expect(audio).to_have_count(1)
        source = audio.get_attribute("src")
        answer = page.request.get(live_server.url + source)
        assert answer.status == 200 and answer.body().startswith(b"ID3")

        composer = page.get_by_role("textbox", name=f"Reply to {conversation.customer.name}")
        composer.fill("Yes, within 30 days.")
        composer.press("Enter")
        expect(chat).to_contain_text("Yes, within 30 days.")
        reply = Message.objects.get(conversation=conversation, sender_type="agent")
        deliver_message.call(company_id=reply.company_id, message_id=reply.pk)
        [sent] = twilio.sends()
        assert sent["To"] == "+15557770000" and sent["Body"] == "Yes, within 30 days."
        # Twilio's status callbacks come back, signed, to the live hub
        deadline = time.monotonic() + 15
        while WebhookDelivery.objects.filter(inbox=inbox).count() < 4:
            assert time.monotonic() < deadline, "no status callback arrived"
            time.sleep(0.2)
        process(inbox)
        expect(page.locator(f"#message-{reply.pk} [data-delivery]")).to_have_attribute(
            "data-delivery", "delivered", timeout=15_000
        )
        page.screenshot(path="test-artifacts/phone-chat.png", full_page=True)
