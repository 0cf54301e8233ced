"""Value and gauge widgets over a bucket store their field as "fields": [name], the shape of the
API contract, instead of "field": name. Reversible."""
from django.db import migrations


def _respell(widgets, forward):
    changed = False
    for widget in widgets:
        source = widget.get("source") or {}
        if widget.get("type") not in ("value", "gauge") or "bucket" not in source:
            continue
        if forward and "field" in source:
            source["fields"] = [source.pop("field")]
            changed = True
        elif not forward and "fields" in source:
            source["field"] = (source.pop("fields") or [None])[0]
            changed = True
    return changed


def _migrate(apps, forward):
    Dashboard = apps.get_model("dashboards", "Dashboard")
    for dashboard in Dashboard.objects.only("widgets").iterator():
        if _respell(dashboard.widgets or [], forward):
            dashboard.save(update_fields=["widgets"])


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_initial")]
    operations = [migrations.RunPython(lambda apps, _: _migrate(apps, True), lambda apps, _: _migrate(apps, False))]
