"""The customer relationship committee (客户关系委员会) of a county branch: its members, meetings
and the needs members raise there, each of which becomes a service request (committee.md)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.common.models import TimeStampedModel
from customers.models import Branch, Contact, Customer


class CommitteeQuerySet(models.QuerySet):
    def visible_to(self, user):
        from notices.models import branches_of

        branches = branches_of(user)
        return self if branches is None else self.filter(branch_id__in=branches)


class Committee(TimeStampedModel):
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)

    objects = CommitteeQuerySet.as_manager()

    class Meta:
        ordering = ["branch", "name"]
        verbose_name = _("customer relationship committee")
        verbose_name_plural = _("customer relationship committees")

    def __str__(self) -> str:
        return self.name


class CommitteeRole(models.TextChoices):
    CHAIR = "chair", _("Chair")
    SECRETARY = "secretary", _("Secretary")
    MEMBER = "member", _("Member")


class CommitteeMember(TimeStampedModel):
    """A member: a customer's contact (the customer it speaks for) or a member of staff."""

    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), on_delete=models.CASCADE, related_name="members"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    role = models.CharField(
        _("role"), max_length=20, choices=CommitteeRole.choices, default=CommitteeRole.MEMBER
    )

    class Meta:
        ordering = ["committee", "role", "id"]
        verbose_name = _("committee member")
        verbose_name_plural = _("committee members")
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, user__isnull=True)
                | Q(contact__isnull=True, user__isnull=False),
                name="member_contact_or_staff",
            ),
            models.UniqueConstraint(fields=["committee", "contact"], name="member_contact_once"),
            models.UniqueConstraint(fields=["committee", "user"], name="member_staff_once"),
        ]

    def __str__(self) -> str:
        return f"{self.committee_id}: {self.contact_id or self.user_id} ({self.role})"


class MeetingQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(committee__in=Committee.objects.visible_to(user))


class Meeting(TimeStampedModel):
    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), on_delete=models.CASCADE, related_name="meetings"
    )
    held_on = models.DateField(_("held on"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    attendees = models.TextField(_("attendees"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    notified_at = models.DateTimeField(_("members notified at"), null=True, blank=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("committee meeting")
        verbose_name_plural = _("committee meetings")

    def __str__(self) -> str:
        return f"{self.committee} {self.held_on:%Y-%m-%d}"


class Need(TimeStampedModel):
    """A need a member raised at a meeting, and the service request it opened."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="needs"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(_("description"))
    kind = models.CharField(_("kind"), max_length=30)
    request = models.OneToOneField(
        "service.ServiceRequest",
        verbose_name=_("service request"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["meeting", "id"]
        verbose_name = _("need")
        verbose_name_plural = _("needs")

    def __str__(self) -> str:
        return f"{self.meeting_id}: {self.description[:30]}"
