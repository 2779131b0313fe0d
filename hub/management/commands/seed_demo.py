from django.core.management.base import BaseCommand, CommandParser

from accounts.models import User
from hub.demo import DEMO_PASSWORD, seed_demo, sign_ins


class Command(BaseCommand):
    help = "Load the demo companies, staff, customers and conversations (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has users (used by `make run`).",
        )

    def handle(self, *args: object, if_empty: bool = False, **options: object) -> None:
        if if_empty and User.objects.exists():
            self.stdout.write("Database already has data; demo data not loaded.")
            return
        self.stdout.write("Loading demo data...")
        created = seed_demo(progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Done: {created} demo companies created."))
        self.stdout.write(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD}):")
        for role, email, company in sign_ins():
            self.stdout.write(f"  {role:<14} {email:<24} {company}")
