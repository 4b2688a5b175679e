from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "crm.common"
    label = "common"
    verbose_name = "Common"

    def ready(self):
        from crm.common.serializers import make_string_fields_strict

        make_string_fields_strict()
