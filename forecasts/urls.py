from django.urls import path

from forecasts import views

app_name = "forecasts"

urlpatterns = [
    path("scores/", views.scores, name="scores"),
    path("industry/", views.industry, name="industry"),
    path("industry/export/", views.industry_export, name="industry-export"),
]
