
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('inboxes', '0001_initial'),
    ]

    operations = [
        # The (company, id) unique key becomes the primary key: companies 0002 changes the
        # database (with the composite foreign keys that depend on it); here only the state.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='inbox',
                    name='inboxes_inbox_company_id_key',
                ),
            ],
        ),
    ]
