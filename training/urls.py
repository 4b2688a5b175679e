from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("", views.home, name="home"),
    path("compliance/", views.compliance_report, name="compliance"),
    path("compliance.xlsx", views.compliance_export, name="compliance-xlsx"),
    path("me/", views.my_training, name="me"),
    path("managers/<int:pk>/", views.manager_page, name="manager"),
    path("sessions/record/", views.session_record, name="session-record"),
]
