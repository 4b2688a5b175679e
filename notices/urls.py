from django.urls import path

from notices import views

app_name = "notices"

urlpatterns = [
    path("", views.notice_list, name="notices"),
    path("<int:pk>/", views.notice_detail, name="notice"),
    path("<int:pk>/publish/", views.notice_publish, name="publish"),
    path("<int:pk>/cancel/", views.notice_cancel, name="cancel"),
    path("deliveries/<int:pk>/acknowledge/", views.delivery_acknowledge, name="acknowledge"),
    path("committees/", views.committee_list, name="committees"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/print/", views.meeting_print, name="meeting-print"),
    path("meetings/<int:pk>/notify/", views.meeting_notify, name="meeting-notify"),
]
