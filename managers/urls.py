from django.urls import path

from managers import views

app_name = "managers"

urlpatterns = [
    path("", views.team, name="team"),
    path("<int:pk>/", views.manager_detail, name="detail"),
]
