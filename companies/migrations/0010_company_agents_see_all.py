from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0002_tenant_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="agents_see_all_conversations",
            field=models.BooleanField(default=True),
        ),
    ]
