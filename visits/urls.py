from django.urls import path

from visits import offline_views, plan_views, run_views, views

app_name = "visits"

urlpatterns = [
    path("", views.week, name="week"),
    # The month grid of the plan (visits.plan_views) replaced the list of due days at this address.
    path("calendar/", plan_views.plan_month, name="calendar"),
    path("plan/", plan_views.plan_week, name="plan-week"),
    path("plan/team/", plan_views.plan_team, name="plan-team"),
    path("plan/set/", plan_views.plan_set, name="plan-set"),
    path("team/", views.team, name="team"),
    path("tasks/<int:pk>/report/", views.report, name="report"),
    path("offline/", offline_views.field_app, name="field-app"),
    path("offline/briefcase/", offline_views.briefcase, name="briefcase"),
    path("reports/<int:pk>/photos/", offline_views.report_photos, name="report-photos"),
    path("runs/<int:pk>/", run_views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", run_views.run_progress, name="run-progress"),
]
