from django.conf import settings
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Simplified Chinese unless the user chose another language with the switch (the language
    cookie). Pages ignore the browser's Accept-Language: many managers' phones are set to English
    while the product is for Chinese readers. The API honours Accept-Language, so an integration
    client gets its error messages in the language it asks for."""

    def process_request(self, request):
        if request.path_info.startswith("/api/"):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or settings.LANGUAGE_CODE
        try:
            language = translation.get_supported_language_variant(chosen)
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return None


class ApiNotFoundMiddleware:
    """A path under /api/ that matches no endpoint (`/api/v1/customers/abc/`) answers the API's
    404 `{"detail": ...}` in JSON, as its schema says, not Django's HTML page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path_info.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse({"detail": gettext("Not found.")}, status=404)
        return response
