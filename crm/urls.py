from django.contrib import admin
from django.urls import include, path

from visits import offline_views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # at the root: a service worker's scope is its own folder and below (the field app, issue 18)
    path("sw.js", offline_views.service_worker, name="service-worker"),
    path("manifest.webmanifest", offline_views.manifest, name="manifest"),
    path("api/v1/", include("crm.api")),
    path("", include("crm.common.urls")),
    path("customers/", include("customers.urls")),
    path("managers/", include("managers.urls")),
    path("training/", include("training.urls")),
    path("visits/", include("visits.urls")),
    path("appraisal/", include("appraisal.urls")),
    path("service/", include("service.urls")),
    path("notices/", include("notices.urls")),
    path("forecasts/", include("forecasts.urls")),
    path("integrations/", include("integrations.urls")),
]

# the API's 500 is JSON like its other errors; 403 and 404 are Django's handlers with
# templates/403.html and 404.html (crm.common.middleware.NotFoundPageMiddleware for DEBUG)
handler500 = "crm.common.views.server_error"
