from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from platform.models import AccessToken


class Command(BaseCommand):
    help = "Creates an API access token for a user and prints it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="API")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        _, token = AccessToken.issue(user=user, name=name)
        self.stdout.write(token)
