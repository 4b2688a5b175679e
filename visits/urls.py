from django.urls import path

from visits import views

app_name = "visits"

urlpatterns = [
    path("", views.week, name="week"),
    path("calendar/", views.calendar, name="calendar"),
    path("team/", views.team, name="team"),
    path("tasks/<int:pk>/report/", views.report, name="report"),
]
