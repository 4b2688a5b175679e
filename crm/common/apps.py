from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "crm.common"
    label = "common"
    verbose_name = _("Background jobs and plumbing")

    def ready(self):
        from crm.common.serializers import make_string_fields_strict

        make_string_fields_strict()
