"""Factories for test data (factory-boy); every tenant-owned object gets a company."""

from datetime import timedelta

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role, User
from companies.models import Company
from conversations.models import Conversation, Message, MessageAttachment
from customers.models import Customer
from inboxes.models import Channel, Inbox

PASSWORD = "correct-horse-battery"


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = "Tester"
    role = Role.AGENT
    company = factory.SubFactory(CompanyFactory)

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    company = factory.SubFactory(CompanyFactory)
    kind = Channel.WHATSAPP
    name = factory.Sequence(lambda n: f"Inbox {n}")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    company = factory.SubFactory(CompanyFactory)
    customer = factory.SubFactory(CustomerFactory, company=factory.SelfAttribute("..company"))
    inbox = factory.SubFactory(InboxFactory, company=factory.SelfAttribute("..company"))
    channel = Channel.WHATSAPP
    last_message_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    company = factory.SelfAttribute("conversation.company")
    content = "Hello there"
    sender_type = Message.SenderType.CUSTOMER
    timestamp = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1))


def stored_attachment(
    conversation: Conversation,
    *,
    content: bytes = b"\x89PNG\r\n\x1a\n",
    mime_type: str = "image/png",
    filename: str = "photo.png",
    kind: str = "image",
) -> MessageAttachment:
    """A customer's message with a downloaded file (written under MEDIA_ROOT)."""
    message = MessageFactory(conversation=conversation, inbox=conversation.inbox, kind=kind)
    attachment = MessageAttachment.objects.create(
        company=conversation.company,
        message=message,
        kind=kind,
        mime_type=mime_type,
        filename=filename,
        size=len(content),
        state=MessageAttachment.State.STORED,
    )
    attachment.file.save(filename, ContentFile(content))
    return attachment
