from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person or system that signs in. The reporting tree (who supervises whom) lives here
    because supervisors themselves have supervisors and need no manager profile."""

    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    supervisor = models.ForeignKey(
        "self",
        verbose_name=_("supervisor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [("see_all_data", _("Can see every customer, manager and task"))]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(supervisor=models.F("pk")), name="user_not_own_supervisor"
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        node, seen = self.supervisor, set()
        while node is not None and node.pk not in seen:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"supervisor": _("A supervisor cannot report to their own report.")})
            seen.add(node.pk)
            node = node.supervisor
