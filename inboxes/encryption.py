"""Inbox secrets encrypted at rest with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`).

Stored, a secret credential is `{"fernet": "<token>"}` inside the inbox's JSON; in memory it is the
plain string, so adapters read `inbox.credentials["access_token"]` as ever. Which credentials
are secret is each adapter's `CredentialField.is_secret`; a name secret for any channel is
encrypted for every channel. Keys come from settings.CREDENTIALS_KEYS (newest first).
"""

import logging
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

ENCRYPTED = "fernet"


class SecretUnreadable(Exception):
    """A stored secret none of the configured keys decrypts (a key was dropped too soon)."""


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as error:
            raise ImproperlyConfigured(
                f"CREDENTIALS_KEY: key {number} is not a Fernet key (32 url-safe base64 bytes). "
                "Make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from error
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.CREDENTIALS_KEYS))


def secret_names() -> frozenset[str]:
    """Every credential name that is secret for some channel."""
    from inboxes.channels import all_adapters

    return frozenset(
        field.name
        for adapter in all_adapters()
        for field in adapter.credential_fields
        if field.is_secret
    )


def is_encrypted(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get(ENCRYPTED), str)


def encrypt_secrets(credentials: dict) -> dict:
    """The stored form: every secret given as text becomes `{"fernet": token}` (newest key)."""
    names = secret_names()
    return {
        name: {ENCRYPTED: fernet().encrypt(value.encode()).decode()}
        if name in names and isinstance(value, str) and value
        else value
        for name, value in credentials.items()
    }


def decrypt_secrets(stored: dict, *, strict: bool = False) -> dict:
    """The in-memory form: every encrypted value back to text. A value no key decrypts becomes
    "" (the inbox then asks for the secret again) and is logged without any of it, or raises
    SecretUnreadable when `strict`."""
    plain = {}
    for name, value in stored.items():
        if is_encrypted(value):
            try:
                value = fernet().decrypt(value[ENCRYPTED].encode()).decode()
            except InvalidToken as error:
                if strict:
                    raise SecretUnreadable(name) from error
                logger.error(
                    "An inbox secret (%s) cannot be decrypted with any CREDENTIALS_KEY; put the "
                    "key it was encrypted with back in the list, or enter the secret again.",
                    name,
                )
                value = ""
        plain[name] = value
    return plain


def rotate_secrets(stored: dict) -> tuple[dict, int]:
    """The stored form re-encrypted with the newest key, and how many secrets that was (also
    encrypts a secret still stored as text). SecretUnreadable if a key is missing."""
    names, rotated, count = secret_names(), {}, 0
    for name, value in stored.items():
        if is_encrypted(value):
            try:
                token = fernet().rotate(value[ENCRYPTED].encode()).decode()
            except InvalidToken as error:
                raise SecretUnreadable(name) from error
            value, count = {ENCRYPTED: token}, count + 1
        elif name in names and isinstance(value, str) and value:
            value, count = {ENCRYPTED: fernet().encrypt(value.encode()).decode()}, count + 1
        rotated[name] = value
    return rotated, count


class EncryptedCredentialsField(models.JSONField):
    """A JSON object of credentials whose secret values are encrypted in the database and plain
    text on the model. Serializing (dumpdata) writes the encrypted form."""

    def from_db_value(self, value: object, expression: object, connection: object) -> object:
        value = super().from_db_value(value, expression, connection)
        return decrypt_secrets(value) if isinstance(value, dict) else value

    def get_prep_value(self, value: object) -> object:
        if isinstance(value, dict):
            value = encrypt_secrets(value)
        return super().get_prep_value(value)

    def to_python(self, value: object) -> object:
        value = super().to_python(value)
        return decrypt_secrets(value) if isinstance(value, dict) else value

    def value_to_string(self, obj: models.Model) -> object:
        value = self.value_from_object(obj)
        return encrypt_secrets(value) if isinstance(value, dict) else value
