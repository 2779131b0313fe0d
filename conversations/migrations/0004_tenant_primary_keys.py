
import companies.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0003_tab_count_indexes'),
        ('customers', '0003_tenant_primary_key'),
        ('inboxes', '0002_tenant_primary_key'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The (company, id) unique key becomes the primary key: companies 0002 changes the
        # database (with the composite foreign keys that depend on it); here only the state.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='conversation',
                    name='conversations_conversation_company_id_key',
                ),
                    migrations.RemoveConstraint(
                    model_name='conversationviewer',
                    name='conversations_conversationviewer_company_id_key',
                ),
                    migrations.RemoveConstraint(
                    model_name='message',
                    name='conversations_message_company_id_key',
                ),
            ],
        ),
        migrations.AlterField(
            model_name='conversation',
            name='assigned_user',
            field=companies.models.TenantForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_conversations', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='conversation',
            name='customer',
            field=companies.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='conversations', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='conversation',
            name='inbox',
            field=companies.models.TenantForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='conversations', to='inboxes.inbox'),
        ),
        migrations.AlterField(
            model_name='conversationviewer',
            name='conversation',
            field=companies.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='conversations.conversation'),
        ),
        migrations.AlterField(
            model_name='conversationviewer',
            name='user',
            field=companies.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='message',
            name='conversation',
            field=companies.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='conversations.conversation'),
        ),
        migrations.AlterField(
            model_name='message',
            name='inbox',
            field=companies.models.TenantForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='inboxes.inbox'),
        ),
        migrations.AlterField(
            model_name='message',
            name='sender_user',
            field=companies.models.TenantForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
    ]
