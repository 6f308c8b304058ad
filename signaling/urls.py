from django.urls import path

from . import views

urlpatterns = [
    path("call-check/", views.call_check, name="call_check"),
    path("live/identity/", views.live_identity, name="live_identity"),
]
