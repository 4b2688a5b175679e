from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data and the local runner. Lives in crm/ because it builds data for every app."""

    name = "crm.demo"
    label = "demo"
    verbose_name = "Demo"
