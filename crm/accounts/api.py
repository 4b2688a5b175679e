"""Token authentication for integration clients: obtain with username and password, revoke with
DELETE. A token lives API_TOKEN_TTL_DAYS (crm.accounts.tokens)."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from crm.accounts.tokens import token_issue, user_end_tokens


class TokenRequestSerializer(serializers.Serializer):
    # Bounded before anything is looked up: the lockout records the username it was given, in a
    # column of 255 characters, and a password hasher should not be fed megabytes.
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False, max_length=4096)


TokenResponse = inline_serializer(name="TokenResponse", fields={"token": serializers.CharField()})


class TokenView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponse}, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if getattr(request, "axes_locked_out", False):
            # django-axes refused before checking the password (too many failures for this
            # username from this address); the answer is the API's 429, not the lockout page.
            return Response(
                {"detail": _("Too many failed log-in attempts. Try again later.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None or not user.is_active:
            return Response(
                {"non_field_errors": [_("Unable to log in with these credentials.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        # the token held while it lives, or a new one in place of an expired one (crm.accounts.tokens)
        return Response({"token": token_issue(user=user).key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        """Revoke the caller's token: every client using it must log in again."""
        user_end_tokens(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
