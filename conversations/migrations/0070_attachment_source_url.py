from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("conversations", "0030_message_status_changed_at")]

    operations = [
        migrations.AddField(
            model_name="messageattachment",
            name="source_url",
            field=models.TextField(blank=True),
        ),
    ]
