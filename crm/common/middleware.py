from django.conf import settings
from django.http import Http404, JsonResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.views.defaults import page_not_found


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


class PrivateCacheMiddleware:
    """Every answer to a signed-in user (a page, an API answer, an export) carries
    `Cache-Control: no-store, private`: it holds personal data, which neither a shared proxy nor the
    browser's disk cache may keep (a shared office computer would show it to the next person).
    An answer that already says how it may be cached keeps its own word. Static files never get
    here: WhiteNoise, before this in MIDDLEWARE, answers them itself, with their long cache times."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # the user a DRF view authenticated (a token) is written back onto the request by DRF
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class NotFoundPageMiddleware:
    """With DEBUG on (`make run`) Django answers a 404 with its technical page, English and without
    the product's frame, instead of handler404; this gives pages the product's 404 there too
    (templates/404.html). With DEBUG off it does nothing: Django uses handler404 itself. After
    CSRF and CSP in MIDDLEWARE so that the page it draws gets their cookie and header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # an address that matches no URL pattern: Django's technical page, not any view's answer
        if response.status_code == 404 and self._applies(request) and not self._resolves(request):
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404) and self._applies(request):
            return page_not_found(request, exception)
        return None

    @staticmethod
    def _applies(request) -> bool:
        return settings.DEBUG and not request.path_info.startswith("/api/")

    @staticmethod
    def _resolves(request) -> bool:
        try:
            resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return False
        return True
