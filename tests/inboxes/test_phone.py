"""Phone through Twilio against a local server speaking Twilio's format: signed form webhooks for
SMS/MMS, statuses, calls and voicemail; sends through the Messages API with its error codes."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from twilio.request_validator import RequestValidator

from conversations import services
from conversations.models import Conversation, Message, MessageAttachment
from conversations.services.attachments import download_inbound_attachment
from conversations.tasks import deliver_message
from inboxes.channels import CredentialsRejected, SendError
from inboxes.channels.phone import FORM, PhoneAdapter
from inboxes.inbound import process_webhook_delivery
from inboxes.local_providers.twilio import LocalTwilioServer
from inboxes.models import WebhookDelivery
from tests.factories import InboxFactory, UserFactory

pytestmark = pytest.mark.django_db
SID, TOKEN, NUMBER = "AC" + "1" * 32, "twilio-token", "+14155550100"


@pytest.fixture
def twilio(settings):
    with LocalTwilioServer() as server:
        server.add_account(SID, TOKEN)
        settings.TWILIO_API_BASE_URL = server.url
        settings.PUBLIC_BASE_URL = "http://testserver"
        yield server


@pytest.fixture
def inbox(twilio):
    return InboxFactory(
        kind="phone",
        credentials={"account_sid": SID, "phone_number": NUMBER, "auth_token": TOKEN},
    )


def url_of(inbox) -> str:
    return reverse("inboxes:webhook", args=["phone", inbox.public_key])


def post(inbox, params: dict[str, str], *, token: str = TOKEN, signature: str | None = None):
    url = url_of(inbox)
    if signature is None:
        signature = RequestValidator(token).compute_signature(f"http://testserver{url}", params)
    return form_post(url, params, signature)


def form_post(url: str, params: dict[str, str], signature: str):
    return Client().post(
        url, urlencode(params), content_type=FORM, headers={"X-Twilio-Signature": signature}
    )


def process_all(inbox) -> list[str]:
    return [
        process_webhook_delivery(company_id=inbox.company_id, delivery_id=pk)
        for pk in WebhookDelivery.objects.filter(inbox=inbox, state="received")
        .order_by("pk")
        .values_list("pk", flat=True)
    ]


def sms(sid: str = "SM" + "a" * 32, body: str = "Is my order ready?", **extra: str) -> dict:
    return {
        "AccountSid": SID,
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "From": "+15551230000",
        "To": NUMBER,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def test_a_signed_sms_is_stored_answered_with_twiml_and_becomes_a_conversation(inbox):
    response = post(inbox, sms())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert b"<Response" in response.content
    assert process_all(inbox) == ["processed"]
    conversation = Conversation.objects.get(inbox=inbox)
    assert conversation.customer.phone == "+15551230000"
    assert conversation.messages.get().content == "Is my order ready?"


def test_unsigned_wrongly_signed_or_tampered_webhooks_are_refused_and_not_stored(inbox):
    assert post(inbox, sms(), signature="").status_code == 403
    assert post(inbox, sms(), token="not-the-token").status_code == 403
    url = url_of(inbox)
    good = RequestValidator(TOKEN).compute_signature(f"http://testserver{url}", sms())
    tampered = form_post(url, sms(body="Send me $1000"), good)
    assert tampered.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_the_same_sms_twice_is_one_message(inbox):
    post(inbox, sms())
    post(inbox, sms())
    assert process_all(inbox) == ["processed", "processed"]
    assert Message.objects.filter(inbox=inbox).count() == 1


def test_an_mms_picture_is_fetched_with_the_account_credentials(inbox, twilio):
    media_url = twilio.add_media("ME1", b"\x89PNG picture", "image/png")
    post(inbox, sms(body="", NumMedia="1", MediaUrl0=media_url, MediaContentType0="image/png"))
    process_all(inbox)
    attachment = MessageAttachment.objects.get()
    assert attachment.kind == "image"
    outcome = download_inbound_attachment(company_id=inbox.company_id, attachment_id=attachment.pk)
    assert outcome.state == "stored"
    attachment.refresh_from_db()
    assert attachment.file.read() == b"\x89PNG picture"


def test_a_reply_goes_out_through_the_messages_api_and_statuses_move_it_forward(inbox, twilio):
    post(inbox, sms())
    process_all(inbox)
    conversation = Conversation.objects.get(inbox=inbox)
    agent = UserFactory(company=inbox.company, role="agent")
    reply = services.send_agent_reply(
        agent,
        company_id=inbox.company_id,
        conversation_id=conversation.pk,
        content="Yes, it is ready.",
        last_seen_message_id=conversation.messages.get().pk,
    )
    deliver_message.call(company_id=reply.company_id, message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and reply.provider_message_id.startswith("SM")
    [sent] = twilio.sends()
    assert sent["To"] == "+15551230000" and sent["From"] == NUMBER
    assert sent["Body"] == "Yes, it is ready."
    assert sent["StatusCallback"] == f"http://testserver{url_of(inbox)}"

    status = {"AccountSid": SID, "MessageSid": reply.provider_message_id, "To": "+15551230000"}
    post(inbox, {**status, "MessageStatus": "delivered"})
    post(inbox, {**status, "MessageStatus": "sent"})  # late: never moves it back
    process_all(inbox)
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"


def test_twilio_errors_are_permanent_or_retryable_with_words_an_agent_understands(inbox, twilio):
    adapter = PhoneAdapter()
    from inboxes.channels import OutboundMessage

    twilio.fail_next(400, 21610)
    with pytest.raises(SendError, match="replied STOP") as unsubscribed:
        adapter.send(inbox, OutboundMessage("+15551230000", "hi"))
    assert not unsubscribed.value.retryable and unsubscribed.value.code == "21610"
    with pytest.raises(SendError, match="not valid") as invalid:
        adapter.send(inbox, OutboundMessage("5551230000", "hi"))
    assert not invalid.value.retryable
    twilio.fail_next(503, 0, "Service Unavailable")
    with pytest.raises(SendError) as down:
        adapter.send(inbox, OutboundMessage("+15551230000", "hi"))
    assert down.value.retryable


def test_credentials_are_checked_against_twilio(inbox):
    adapter = PhoneAdapter()
    adapter.check_credentials(inbox)
    inbox.credentials = {**inbox.credentials, "auth_token": "wrong"}
    with pytest.raises(CredentialsRejected, match="refused"):
        adapter.check_credentials(inbox)


def test_a_call_hears_the_greeting_and_a_voicemail_becomes_a_message_with_audio(inbox, twilio):
    call = {"AccountSid": SID, "CallSid": "CA" + "b" * 32, "From": "+15551230000", "To": NUMBER}
    answer = post(inbox, {**call, "CallStatus": "ringing", "Direction": "inbound"})
    assert b"<Say>" in answer.content and b"<Record" in answer.content
    assert f'action="http://testserver{url_of(inbox)}"'.encode() in answer.content
    recording = twilio.add_media("RE1.mp3", b"ID3 audio", "audio/mpeg").removesuffix(".mp3")
    thanks = post(
        inbox,
        {**call, "RecordingUrl": recording, "RecordingSid": "RE1", "RecordingDuration": "42"},
    )
    assert b"<Hangup" in thanks.content
    post(inbox, {**call, "CallSid": "CA" + "c" * 32, "CallStatus": "no-answer"})
    process_all(inbox)
    voicemail, missed = Message.objects.filter(inbox=inbox).order_by("id")
    assert voicemail.content == "Voicemail (0:42)" and voicemail.kind == "voice"
    assert missed.content == "Missed call"
    attachment = voicemail.attachments.get()
    download_inbound_attachment(company_id=inbox.company_id, attachment_id=attachment.pk)
    attachment.refresh_from_db()
    assert attachment.state == "stored" and attachment.file.read() == b"ID3 audio"


def test_another_accounts_webhook_changes_nothing(inbox):
    post(inbox, sms(AccountSid="AC" + "9" * 32))
    process_all(inbox)
    assert not Message.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "ignored" and "AC999" in delivery.reason
