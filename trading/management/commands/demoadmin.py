"""Create the demo admin account with a generated password, printed once (never a fixed password)."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser for the demo with a generated password, printed once. Reuses an existing one."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset", action="store_true", help="Generate and print a new password.")

    def handle(self, *args, username, reset, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None and not reset:
            self.stdout.write(
                f"Demo admin '{username}' already exists (password printed when it was created; "
                f"`python manage.py demoadmin --reset` prints a new one)."
            )
            return
        password = secrets.token_urlsafe(12)
        if user is None:
            User.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = user.is_active = True
            user.save()
        self.stdout.write(self.style.SUCCESS(f"Demo admin  user: {username}  password: {password}"))
