"""The product's URLs and handlers, with a page and an API endpoint that fail, for
tests/crm/test_error_pages.py."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from crm.urls import handler500  # noqa: F401  (the handler is looked up here)
from crm.urls import urlpatterns as product_urlpatterns


def broken_page(request):
    raise TypeError("a bug")


@api_view(["GET"])
@permission_classes([AllowAny])
def broken_endpoint(request):
    raise TypeError("a bug")


urlpatterns = [
    path("broken/", broken_page),
    path("api/v1/broken/", broken_endpoint),
    *product_urlpatterns,
]
