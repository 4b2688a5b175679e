"""API tokens with a lifetime. A token is DRF's `authtoken` Token: one per user, issued at
POST auth/token/. It authenticates for API_TOKEN_TTL_DAYS after it was issued (`created`), then
answers 401 until its client logs in again, which replaces it; logging in earlier returns the same
token, its lifetime not renewed. A user's tokens also end when they are deactivated or their
password changes (crm.accounts.models.User.save)."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def tokens_expire_before() -> dt.datetime:
    """A token issued at or before this moment has expired."""
    return timezone.now() - dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's token: the one they hold while it lives, else a new one in place of the expired."""
    Token.objects.filter(user_id=user.pk, created__lte=tokens_expire_before()).delete()
    token, _created = Token.objects.get_or_create(user=user)
    return token


def user_end_tokens(*, user) -> None:
    """Delete the user's API tokens: every client using one must log in again."""
    Token.objects.filter(user_id=user.pk).delete()


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (`Authorization: Token <key>`), refusing a token past its lifetime
    with a 401 that says so, so that a client knows to log in again rather than suspect its key."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created <= tokens_expire_before():
            raise exceptions.AuthenticationFailed(_("Token has expired; ask auth/token/ for a new one."))
        return user, token
