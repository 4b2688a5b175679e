"""The tiering pages, mounted by customers/urls.py in its `customers:` namespace."""

from django.urls import path

from customers.tiering import views

urlpatterns = [
    path("tiering/runs/", views.run_list, name="tier-runs"),
    path("tiering/runs/start/", views.run_start, name="tier-run-start"),
    path("tiering/runs/<int:pk>/", views.run_detail, name="tier-run"),
    path("tiering/runs/<int:pk>/progress/", views.run_progress, name="tier-run-progress"),
    path("<int:pk>/pin-tier/", views.pin_tier, name="pin-tier"),
]
