from django.core.cache import cache
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Empties the cache (CACHE_URL; with CACHE_KEY_PREFIX, only the keys under it). Run it after restoring "
            "the database from a backup: the cache still holds device lookups and tokens of the database as it "
            "was before the restore.")

    def handle(self, *args, **options):
        # Everything in it is rebuilt from the database or starts again (docs/operations.md, Backups).
        cache.clear()
        self.stdout.write("Cache cleared.")
