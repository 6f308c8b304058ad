from django.db import migrations
from django.db.models import F


def backfill(apps, schema_editor):
    """Presences recorded before heartbeats existed were last seen when they joined; without this an
    open one would never be swept (``last_seen < cutoff`` is never true for NULL)."""
    CallAttendance = apps.get_model("mentoring", "CallAttendance")
    CallAttendance.objects.filter(last_seen__isnull=True).update(last_seen=F("joined_at"))


class Migration(migrations.Migration):
    dependencies = [("mentoring", "0005_not_interested")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
