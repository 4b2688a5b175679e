"""The admin site's titles, the plumbing's one table, and helpers the apps' admins share.

The admin is for administrators (group `administrator`, `is_staff`): only staff may sign in to it,
and the group's permissions decide what they see there."""

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.common.models import (
    ChainRun,
    JobRun,
    OutboxEvent,
    PendingHook,
    RateSlot,
    RunChunk,
    ScheduledSlot,
    WorkerHeartbeat,
)

admin.site.site_header = _("Power supply CRM administration")
admin.site.site_title = _("Power supply CRM")
admin.site.index_title = _("Administration")


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only the product writes (through its services, jobs or imports): they can be
    looked at and searched here, never changed by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "seen_at"]
    search_fields = ["name"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["job", "started_at", "finished_at", "counts", "error"]
    list_filter = ["job"]
    date_hierarchy = "started_at"


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    """The events written for the other systems (integrations delivers them): read only."""

    list_display = ["event_type", "occurred_at", "dispatched_at"]
    list_filter = ["event_type"]
    show_full_result_count = False


@admin.register(ScheduledSlot)
class ScheduledSlotAdmin(ReadOnlyAdmin):
    """Each slot of a scheduled job that ran (or is running), and the repeats beat sent of it."""

    list_display = ["job", "slot", "status", "caught_up", "duplicates", "started_at", "finished_at"]
    list_filter = ["job", "status", "caught_up"]
    date_hierarchy = "slot"
    show_full_result_count = False


@admin.register(RateSlot)
class RateSlotAdmin(ReadOnlyAdmin):
    """The shared rate limits' clocks (the SMS gateway's): written by the senders only."""

    list_display = ["name", "next_at"]


@admin.register(PendingHook)
class PendingHookAdmin(ReadOnlyAdmin):
    """Steps recorded with a write and not yet run (docs/faults.md): the sweep runs them; a row with
    many attempts is a step that keeps failing, its last error beside it."""

    list_display = ["target", "created_at", "attempts", "error"]
    search_fields = ["target"]


@admin.register(ChainRun)
class ChainRunAdmin(ReadOnlyAdmin):
    """Chains of background steps (docs/faults.md): how far each got, how often the sweep sent a
    step again, and the late messages ignored."""

    list_display = [
        "name",
        "subject_id",
        "done",
        "waiting_on",
        "resends",
        "ignored_messages",
        "updated_at",
        "finished_at",
    ]
    list_filter = ["name"]
    search_fields = ["=subject_id"]
    show_full_result_count = False


@admin.register(RunChunk)
class RunChunkAdmin(ReadOnlyAdmin):
    """The chunks of runs done as tasks of their own (crm.common.fanout): which are done, and how
    often each was sent (more than once: the sweep sent it again)."""

    list_display = ["run_label", "run_id", "index", "lo", "hi", "done_at", "sends", "updated_at"]
    list_filter = ["run_label"]
    search_fields = ["=run_id"]
    show_full_result_count = False


def register_remaining(app_label: str) -> None:
    """Register every model of the app that its admin module has not, with a listing that never
    loads a related table into a select box: each foreign key is a raw id and is joined in the
    list. Keeps "every model is in the admin" true while other modules add models."""
    for model in apps.get_app_config(app_label).get_models():
        if admin.site.is_registered(model):
            continue
        relations = [
            f.name for f in model._meta.get_fields() if f.concrete and (f.many_to_one or f.one_to_one)
        ]
        many = [f.name for f in model._meta.get_fields() if f.concrete and f.many_to_many]
        text = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField)][:3]
        choice_or_bool = [
            f.name for f in model._meta.concrete_fields if f.choices or isinstance(f, models.BooleanField)
        ]
        attrs = {
            "raw_id_fields": relations + many,
            "list_select_related": relations,
            "search_fields": text,
            "list_filter": choice_or_bool,
            "list_display": ["__str__", *[name for name in choice_or_bool[:3]]],
            "show_full_result_count": False,
        }
        admin.site.register(model, type(f"{model.__name__}Admin", (admin.ModelAdmin,), attrs))
