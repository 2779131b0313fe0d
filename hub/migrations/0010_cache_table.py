"""The shared cache's table (settings.CACHES, Django's DatabaseCache), created by `migrate` so
no deployment step can forget it; the same table `manage.py createcachetable` would make."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = []

    operations = [
        migrations.RunSQL(
            sql=[
                'CREATE TABLE IF NOT EXISTS "hub_cache" ('
                '"cache_key" varchar(255) NOT NULL PRIMARY KEY, '
                '"value" text NOT NULL, '
                '"expires" timestamp with time zone NOT NULL)',
                'CREATE INDEX IF NOT EXISTS "hub_cache_expires" ON "hub_cache" ("expires")',
            ],
            reverse_sql=['DROP TABLE IF EXISTS "hub_cache"'],
        ),
    ]
