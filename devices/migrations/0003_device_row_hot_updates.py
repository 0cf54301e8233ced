"""A device row that takes HOT updates (README "Performance", the sweep lever).

PostgreSQL updates a row in place on its page, touching no index ("HOT"), when the UPDATE changes
no indexed column and the page has room for the new version. The partial index on disconnect_at
WHERE connected ruled that out for both writers of the connection state: the callback changes
disconnect_at on every message and the sweep changes connected. Without it, and with half of each
page kept free (fillfactor 50: a sweep flips every due row of a page in one transaction, so each
page needs room for a second version of all its rows), 100,000 flips touch no index.

The fillfactor applies to pages written from now on; an existing table gets it for all its rows
after `VACUUM FULL devices_device` (an exclusive lock: plan it). SQLite has neither HOT nor
fillfactor: there only the index goes.
"""
from django.db import migrations, models


def _fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("devices", "Device")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})" if value
                              else f"ALTER TABLE {table} RESET (fillfactor)")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0002_property_message_id'),
    ]

    operations = [
        migrations.RemoveIndex(model_name='device', name='device_timeout_due'),
        migrations.RunPython(_fillfactor(50), _fillfactor(None), elidable=False),
    ]
