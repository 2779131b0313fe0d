from django.core.management.base import BaseCommand, CommandError

from inboxes.services import rotate_credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt every inbox's secrets with the newest CREDENTIALS_KEY (the first in the "
        "list). Run it after putting a new key first; drop an old key only once this succeeds."
    )

    def handle(self, *args: object, **options: object) -> None:
        rotation = rotate_credentials(progress=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rotation.secrets} secrets of {rotation.inboxes} inboxes "
                "with the newest key."
            )
        )
        if rotation.unreadable:
            raise CommandError(
                "No configured key decrypts these secrets; put the key they were encrypted "
                "with back in CREDENTIALS_KEY and run this again (or enter them anew):\n  "
                + "\n  ".join(rotation.unreadable)
            )
