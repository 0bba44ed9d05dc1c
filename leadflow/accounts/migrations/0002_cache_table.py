# The shared cache (login throttles, rate limits, scheduler bookkeeping) lives in a database
# table when no Redis is configured. Making it here means `leadflow migrate` alone gives a
# working installation, however Leadflow is started.

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
