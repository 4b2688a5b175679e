from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "crm.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from crm.accounts.roles import sync_role_groups

        # Keeps the four role groups and their permissions current after every migrate; idempotent.
        post_migrate.connect(sync_role_groups, dispatch_uid="crm.accounts.sync_role_groups")
