from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "crm.common"
    label = "common"
    verbose_name = "Common"
