from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("conversations", "0040_inbox_send_log_index")]

    operations = [
        migrations.AddField(
            model_name="messageattachment",
            name="source_url",
            field=models.TextField(blank=True),
        ),
    ]
