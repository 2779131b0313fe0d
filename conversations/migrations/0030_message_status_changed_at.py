# The open chat re-renders the delivery status of messages changed since its last poll.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0011_message_kinds_and_attachments'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='status_changed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(models.F('company'), models.F('conversation'), models.F('status_changed_at'), models.F('id'), condition=models.Q(('status_changed_at__isnull', False)), name='msg_company_conv_status_idx'),
        ),
    ]
