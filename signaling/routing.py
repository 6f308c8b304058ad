from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
    path("ws/session/<uuid:room_id>/", consumers.CallConsumer.as_asgi()),
]
