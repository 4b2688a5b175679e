from django.urls import path

from customers import views
from customers.imports.urls import urlpatterns as import_urls
from customers.tiering.urls import urlpatterns as tiering_urls

app_name = "customers"

# The sub-packages' pages share the `customers:` namespace (customers:import, customers:tier-runs).
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    *import_urls,
    *tiering_urls,
]
