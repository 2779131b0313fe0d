
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0002_inbox_search_and_presence'),
    ]

    operations = [
        # The (company, id) unique key becomes the primary key: companies 0002 changes the
        # database (with the composite foreign keys that depend on it); here only the state.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='customer',
                    name='customers_customer_company_id_key',
                ),
            ],
        ),
    ]
