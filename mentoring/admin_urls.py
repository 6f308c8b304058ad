"""Included by the project at ``admin/analytics/``, before Django admin's own URLs."""

from django.urls import path

from . import admin_views

urlpatterns = [
    path("", admin_views.analytics, name="analytics"),
    path("analytics.csv", admin_views.analytics_csv, name="analytics_csv"),
]
