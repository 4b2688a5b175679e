from django.urls import path

from customers import views
from customers.imports import views as import_views
from customers.tiering import views as tier_views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("imports/", import_views.import_start, name="import"),
    path("imports/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("tiering/runs/", tier_views.run_list, name="tier-runs"),
    path("tiering/runs/start/", tier_views.run_start, name="tier-run-start"),
    path("tiering/runs/<int:pk>/", tier_views.run_detail, name="tier-run"),
    path("<int:pk>/pin-tier/", tier_views.pin_tier, name="pin-tier"),
]
