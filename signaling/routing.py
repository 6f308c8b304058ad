from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
    # The call room's /ws/session/<room>/ joins here with the call issue.
]
