"""Signed links for customer representatives, who score without an account.

A token is `django.core.signing` over {rater id, appraisal id, version}, salted for this purpose
only, and carries no expiry of its own. The version is the seat's `link_expires_at` as a timestamp:
re-issuing a seat's link (`services.panel_reissue_link`) sets a new expiry, so every older link of
that seat stops working. The expiry is read from the database, but any change to it changes the
version too: a link cannot be extended or shortened in place (the admin shows the field read-only),
only re-issued. A seat whose representative has submitted a full set of scores (`submitted_at`) is
spent until its link is re-issued.

The page lives at `reverse("appraisal:representative", args=[token])`."""

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appraisal.models import AppraisalStatus, Rater, RaterKind

SALT = "appraisal.representative-link"


class LinkError(Exception):
    message = _("This link does not work.")

    def __init__(self, message=None):
        if message is not None:
            self.message = message
        super().__init__(str(self.message))


class LinkInvalid(LinkError):
    message = _("This link is not valid. Please check that you copied all of it, or ask for a new one.")


class LinkExpired(LinkError):
    message = _("This link has expired. Please ask the supervisor who sent it for a new one.")


class LinkUsed(LinkError):
    message = _("Your scores have already been submitted with this link. Thank you.")


class LinkClosed(LinkError):
    message = _("Scoring for this appraisal has closed.")


def _version(rater: Rater) -> int:
    return int(rater.link_expires_at.timestamp()) if rater.link_expires_at else 0


def link_token(rater: Rater) -> str:
    return signing.dumps({"r": rater.pk, "a": rater.appraisal_id, "v": _version(rater)}, salt=SALT)


def rater_for_token(token: str) -> Rater:
    """The representative's seat the token names, with its appraisal, cycle and manager loaded.
    Raises LinkInvalid (tampered, unknown, removed or re-issued seat), LinkExpired, LinkUsed or
    LinkClosed (the appraisal has left scoring)."""
    try:
        payload = signing.loads(str(token), salt=SALT)
        rater_id, appraisal_id, version = int(payload["r"]), int(payload["a"]), int(payload["v"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid from exc
    rater = (
        Rater.objects.select_related("appraisal__cycle", "appraisal__manager__user")
        .filter(pk=rater_id, appraisal_id=appraisal_id, kind=RaterKind.CUSTOMER_REPRESENTATIVE)
        .first()
    )
    if rater is None or _version(rater) != version or rater.link_expires_at is None:
        raise LinkInvalid
    if rater.submitted_at is not None:
        raise LinkUsed
    if timezone.now() >= rater.link_expires_at:
        raise LinkExpired
    if rater.appraisal.status != AppraisalStatus.SCORING:
        raise LinkClosed
    return rater


def check_link_usable(rater: Rater) -> None:
    """What may have changed since `rater_for_token` let the representative in, re-checked by
    `services.scores_save` under the seat's row lock: the seat is spent, or its link has expired (a
    seat with no expiry counts as expired here). The signature and version are the token's, checked
    by `rater_for_token` only; the appraisal's status the service checks itself."""
    if rater.submitted_at is not None:
        raise LinkUsed
    if rater.link_expires_at is None or timezone.now() >= rater.link_expires_at:
        raise LinkExpired
