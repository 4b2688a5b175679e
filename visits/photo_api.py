"""`visit-reports/` (the reports in the caller's scope), `visit-reports/{id}/` and its photos (api.md):
GET lists them, POST (multipart `file`, with an
optional `client_id` made on the phone) adds one, DELETE removes one, and `.../file/` serves the
picture itself. Every read goes through VisitReport.objects.visible_to: another manager's report, or
its photo, answers 404. Photos are streamed from the storage by this view, never linked to the
storage's own address, so a photo is seen only by those who may see its report."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crm.common.fields import ID_PATTERN
from crm.common.permissions import ModelPermissions
from visits import photos
from visits.api import ReportPhotoSerializer, VisitReportSerializer
from visits.models import VisitPhoto, VisitReport


class PhotoPermissions(ModelPermissions):
    """Photos belong to the report: reading them needs `view_visitreport`, adding or removing one
    `add_visitreport` (the manager who reports; supervisors and systems only read)."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["visits.add_visitreport"],
        "DELETE": ["visits.add_visitreport"],
    }

    def _queryset(self, view):
        return VisitReport.objects.none()


class PhotoUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="a JPEG or PNG of at most 5 MB")
    client_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="made on the phone: the same id again stores it once"
    )


class VisitReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The visit reports in the caller's scope, newest first, each with its photos."""

    serializer_class = VisitReportSerializer
    permission_classes = [PhotoPermissions]
    http_method_names = ["get", "post", "delete", "head", "options"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return (
            VisitReport.objects.visible_to(self.request.user)
            .prefetch_related("follow_ups", "photos")
            .order_by("-visited_on", "-id")
        )

    def _own(self, report) -> None:
        """Adding or removing photos is the reporting manager's: the author, or the task's manager."""
        user = self.request.user
        if user.pk not in (report.by_id, report.task.manager_id) and not user.is_superuser:
            raise PermissionDenied(_("Only the manager who reported this visit may change its photos."))

    @extend_schema(methods=["GET"], responses={200: ReportPhotoSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={201: ReportPhotoSerializer, 200: ReportPhotoSerializer},
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        report = self.get_object()
        if request.method == "GET":
            return Response(ReportPhotoSerializer(report.photos.all(), many=True).data)
        self._own(report)
        upload = PhotoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        photo, made = photos.visit_photo_add(
            report=report,
            upload=upload.validated_data["file"],
            by=request.user,
            client_id=upload.validated_data.get("client_id"),
        )
        return Response(
            ReportPhotoSerializer(photo).data, status=status.HTTP_201_CREATED if made else status.HTTP_200_OK
        )

    def _photo(self, pk, photo_id) -> VisitPhoto:
        return get_object_or_404(
            VisitPhoto.objects.visible_to(self.request.user).select_related("report__task"),
            pk=photo_id,
            report_id=pk,
        )

    @extend_schema(responses={204: None})
    @action(detail=True, methods=["delete"], url_path=rf"photos/(?P<photo_id>{ID_PATTERN})")
    def photo(self, request, pk=None, photo_id=None):
        photo = self._photo(pk, photo_id)
        self._own(photo.report)
        photos.visit_photo_delete(photo=photo, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, (200, "image/png"): OpenApiTypes.BINARY}
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"photos/(?P<photo_id>{ID_PATTERN})/file",
        url_name="photo-file",
    )
    def photo_file(self, request, pk=None, photo_id=None):
        photo = self._photo(pk, photo_id)
        response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
        # private: a shared cache must not keep what only this user may see
        response["Cache-Control"] = "private, max-age=86400"
        return response
