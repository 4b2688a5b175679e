"""The SSRF guard (integration.md): an endpoint URL must be http(s) with a host, and every address
its host resolves to must be public, unless settings.WEBHOOKS_ALLOW_PRIVATE_URLS allows private,
loopback and link-local ones (tests, a closed company network). Checked when an endpoint is saved
and again before each try (a name may resolve elsewhere later); redirects are never followed."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class UrlRefused(ValueError):
    """The URL may not be called; the message says why, in the user's language."""


def _addresses(host: str, port: int) -> list[ipaddress._BaseAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(_("The host of this URL cannot be resolved: %(host)s") % {"host": host}) from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def _private(address) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def url_check(url: str) -> None:
    """Raise UrlRefused unless `url` may be called."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(_("Enter a valid URL.")) from exc
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(_("The URL must start with http:// or https://."))
    if not parts.hostname:
        raise UrlRefused(_("The URL has no host."))
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False):
        return
    port = port or (443 if parts.scheme == "https" else 80)
    refused = [str(a) for a in _addresses(parts.hostname, port) if _private(a)]
    if refused:
        raise UrlRefused(
            _(
                "This URL resolves to a private, loopback or link-local address (%(addresses)s): "
                "refused, unless WEBHOOKS_ALLOW_PRIVATE_URLS allows such addresses."
            )
            % {"addresses": ", ".join(sorted(set(refused)))}
        )
