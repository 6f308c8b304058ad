from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("mentors/", views.mentors_list, name="mentors"),
    path("mentors/<int:user_id>/", views.mentor_detail, name="mentor_detail"),
    path("mentors/<int:user_id>/report/", views.mentor_report, name="mentor_report"),
    path("sessions/", views.sessions_list, name="sessions"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:session_id>/cancel/", views.session_cancel_view, name="session_cancel"),
    path("sessions/<int:session_id>/book/", views.session_book, name="session_book"),
    path("sessions/<int:session_id>/waitlist/", views.session_waitlist, name="session_waitlist"),
    path("sessions/<int:session_id>/calendar.ics", views.session_calendar, name="session_calendar"),
    path("sessions/<int:session_id>/feedback/", views.session_feedback, name="session_feedback"),
    path("sessions/<int:session_id>/report/", views.session_report, name="session_report"),
    path("sessions/<uuid:room_id>/room/", views.session_room, name="session_room"),
    path("sessions/<uuid:room_id>/room/report/", views.session_room_report, name="session_room_report"),
    path("bookings/<int:booking_id>/cancel/", views.booking_cancel_view, name="booking_cancel"),
    path("waitlist/<int:entry_id>/leave/", views.waitlist_leave_view, name="waitlist_leave"),
    path("recommendations/not-interested/", views.recommendation_dismiss_view, name="recommendation_dismiss"),
    path("api/recommendations/", views.api_recommendations, name="api_recommendations"),
    path("notifications/", views.notifications_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("calendar/", views.calendar_settings, name="calendar_settings"),
    path("calendar/feed/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
