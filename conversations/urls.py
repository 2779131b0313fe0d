from django.urls import path

from conversations import attachment_views, views

app_name = "conversations"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("more/", views.more_conversations, name="more"),
    path("new/", views.start, name="start"),
    path("new/customers/", views.customer_choices, name="customer-choices"),
    path("c/<int:pk>/", views.inbox, name="conversation"),
    path("c/<int:pk>/poll/", views.chat_poll, name="poll"),
    path("c/<int:pk>/earlier/", views.earlier_messages, name="earlier"),
    path("c/<int:pk>/reply/", views.reply, name="reply"),
    path("c/<int:pk>/status/", views.set_status, name="status"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/assign/undo/", views.undo_handover, name="undo-handover"),
    path("c/<int:pk>/read/", views.mark_read, name="read"),
    path("c/<int:pk>/calls/", views.log_call, name="log-call"),
    path("c/<int:pk>/customer/", views.edit_customer, name="customer"),
    path("c/<int:pk>/messages/<int:message_pk>/retry/", views.retry, name="retry"),
    path("files/<int:pk>/", attachment_views.attachment, name="attachment"),
]
