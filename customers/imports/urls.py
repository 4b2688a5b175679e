"""The import pages, mounted by customers/urls.py in its `customers:` namespace."""

from django.urls import path

from customers.imports import views

urlpatterns = [
    path("imports/", views.import_start, name="import"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", views.import_detail_progress, name="import-progress"),
]
