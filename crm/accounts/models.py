from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
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

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_active = instance.is_active if "is_active" in field_names else None
        return instance

    def save(self, *args, **kwargs) -> None:
        """Deactivating a user ends their sessions and deletes their tokens, and changing their
        password deletes their tokens, in the same transaction as the change, whichever way it
        comes (the admin's password pages, a service, `manage.py changepassword`, the shell).

        A password change is what `set_password` marks in `_password` for this save to see; it is
        read here rather than in `set_password`, which saves nothing (the tokens would end even if
        the change were never saved) and also serves Django's re-hashing of an unchanged password at
        log-in, which clears the mark and must leave the tokens alone. Sessions need nothing here:
        Django's session hash already ends the others, and the password-change page keeps its own."""
        deactivated = self.pk is not None and not self.is_active
        if deactivated and getattr(self, "_loaded_active", None) is None:
            deactivated = type(self).objects.filter(pk=self.pk, is_active=True).exists()
        elif deactivated:
            deactivated = self._loaded_active
        password_changed = self.pk is not None and self._password is not None
        with transaction.atomic():
            super().save(*args, **kwargs)
            if deactivated:
                from crm.accounts.security import user_end_sessions

                user_end_sessions(user=self)
            elif password_changed:
                from crm.accounts.tokens import user_end_tokens

                user_end_tokens(user=self)
        self._loaded_active = self.is_active

    def clean(self) -> None:
        super().clean()
        node, seen = self.supervisor, set()
        while node is not None and node.pk not in seen:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"supervisor": _("A supervisor cannot report to their own report.")})
            seen.add(node.pk)
            node = node.supervisor
