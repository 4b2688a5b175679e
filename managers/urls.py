from django.urls import path

from managers import unassigned_views, views

app_name = "managers"

urlpatterns = [
    path("", views.team, name="team"),
    path("<int:pk>/", views.manager_detail, name="detail"),
    path("unassigned/", unassigned_views.unassigned, name="unassigned"),
    path(
        "unassigned/runs/<int:pk>/progress/",
        unassigned_views.reconcile_run_progress,
        name="reconcile-progress",
    ),
]
