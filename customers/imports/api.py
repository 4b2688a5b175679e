"""imports/: upload a CSV or XLSX file of customers or consumption and read its per-row report."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from customers.imports.errors import DuplicateImport, ImportFileError
from customers.imports.jobs import (
    import_create,
    import_jobs_visible_to,
    import_kind_allowed,
    import_progress,
)
from customers.models import ImportJob, ImportRejection


class ImportRejectionSerializer(serializers.ModelSerializer):
    row = serializers.IntegerField(source="row_number", help_text="row number in the file; the header is 1")

    class Meta:
        model = ImportRejection
        fields = ["row", "account_no", "field", "message"]


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(help_text="percent of the rows checked, 0-100")
    rejections_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "original_name",
            "partial",
            "status",
            "total_rows",
            "processed_rows",
            "progress",
            "created_count",
            "updated_count",
            "unchanged_count",
            "rejected_count",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "rejections_url",
        ]
        read_only_fields = fields

    def get_progress(self, job) -> int:
        return import_progress(job)

    def get_rejections_url(self, job) -> str:
        url = reverse("import-rejections", kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ImportReportSerializer(ImportJobSerializer):
    """A job run inside the request, with every rejected row."""

    rejections = ImportRejectionSerializer(many=True, read_only=True)

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "rejections"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX")
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    partial = serializers.BooleanField(
        default=False, help_text="write the good rows even if some rows are rejected"
    )
    confirm_duplicate = serializers.BooleanField(
        default=False,
        help_text="import the file even though the same file was imported by you a few minutes ago",
    )


DuplicateImportSerializer = inline_serializer(
    name="DuplicateImport",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(help_text="duplicate_import"),
        "earlier_import": serializers.IntegerField(help_text="the id of the earlier import of the same file"),
        "earlier_import_url": serializers.URLField(),
    },
)


@extend_schema_view(
    list=extend_schema(summary="Imports the user may see, newest first"),
    retrieve=extend_schema(summary="One import: status, progress and counts"),
)
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Files of customers or consumption imported by the user (all of them for administrators)."""

    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()  # for ModelPermissions; get_queryset narrows to the user's
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["kind", "status"]
    ordering_fields = ["created_at", "finished_at"]
    search_fields = ["original_name"]
    throttle_scope = "imports"

    def get_queryset(self):
        return import_jobs_visible_to(self.request.user).order_by("-created_at", "-pk")

    def get_throttles(self):
        # Uploads are rationed; reading a job's progress is not.
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(ScopedRateThrottle())
        return throttles

    @extend_schema(
        summary="Import a CSV or XLSX file",
        description=(
            "Upload a file of customers or consumption (Chinese or English column headers; CSV in "
            "UTF-8, UTF-8 with BOM or GBK; XLSX). A file with at most IMPORT_INLINE_MAX_ROWS data rows "
            "is imported inside the request: 201 with the report and every rejected row. A larger one, "
            "or one the request cannot read to its end within twice that many rows, is imported in the "
            "background: 202 with the job, to poll at imports/{id}/. A file with a rejected row changes "
            "nothing unless `partial` is true. A file that cannot be read at all (too large, more than "
            "IMPORT_MAX_ROWS rows, unknown type, an encoding not decided on the whole file, a workbook "
            "packed like no export, a required column missing) answers 400, or fails the job when "
            "found there. The same file (the same bytes and kind) imported by the same user within "
            "IMPORT_DUPLICATE_MINUTES (and not rejected or failed) answers 409 with the earlier import's "
            "id, unless `confirm_duplicate` is true; of two such uploads at the same moment one is "
            "imported and the other answers 409. Uploads share the `imports` rate with the upload page."
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            201: OpenApiResponse(ImportReportSerializer, description="imported inside the request"),
            202: OpenApiResponse(ImportJobSerializer, description="queued: poll the job"),
            409: OpenApiResponse(
                DuplicateImportSerializer, description="the same file was imported just now"
            ),
        },
    )
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        if not import_kind_allowed(user=request.user, kind=data["kind"]):
            raise PermissionDenied(_("You may not import this kind of file."))
        try:
            job = import_create(
                upload=data["file"],
                kind=data["kind"],
                partial=data["partial"],
                by=request.user,
                confirm_duplicate=data["confirm_duplicate"],
            )
        except ImportFileError as exc:
            raise ValidationError({"file": [exc.message]}) from exc
        except DuplicateImport as exc:
            return self._duplicate(request, exc.earlier)
        context = self.get_serializer_context()
        if job.status == ImportJob.State.QUEUED:
            return Response(ImportJobSerializer(job, context=context).data, status=status.HTTP_202_ACCEPTED)
        return Response(ImportReportSerializer(job, context=context).data, status=status.HTTP_201_CREATED)

    def _duplicate(self, request, earlier: ImportJob) -> Response:
        url = request.build_absolute_uri(reverse("import-detail", kwargs={"pk": earlier.pk}))
        detail = _(
            "You imported this file at %(at)s (import %(id)s). To import it again, "
            "send it with confirm_duplicate set to true."
        ) % {"at": timezone.localtime(earlier.created_at).strftime("%H:%M"), "id": earlier.pk}
        body = {
            "detail": detail,
            "code": "duplicate_import",
            "earlier_import": earlier.pk,
            "earlier_import_url": url,
        }
        return Response(body, status=status.HTTP_409_CONFLICT)

    @extend_schema(summary="Rejected rows of an import", responses=ImportRejectionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def rejections(self, request, pk=None):
        job = self.get_object()
        page = self.paginate_queryset(job.rejections.order_by("row_number", "pk"))
        return self.get_paginated_response(ImportRejectionSerializer(page, many=True).data)
