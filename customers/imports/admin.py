"""The admin of import jobs and their rejected rows: read-only, the job writes them."""

from django.contrib import admin

from crm.common.admin import ReadOnlyAdmin
from customers.imports.models import ImportJob, ImportRejection


class ImportRejectionInline(admin.TabularInline):
    model = ImportRejection
    fields = ["row_number", "account_no", "field", "message"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request)[:200]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "original_name",
        "kind",
        "status",
        "total_rows",
        "created_count",
        "updated_count",
        "unchanged_count",
        "rejected_count",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "status", "partial"]
    search_fields = ["original_name"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"


@admin.register(ImportRejection)
class ImportRejectionAdmin(ReadOnlyAdmin):
    list_display = ["job", "row_number", "account_no", "field", "message"]
    search_fields = ["account_no", "message"]
    list_select_related = ["job"]
    raw_id_fields = ["job"]
