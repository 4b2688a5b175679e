"""The one API router: every app's endpoints under /api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from appraisal import api as appraisal_api
from crm.accounts.api import TokenView
from crm.common.health import HealthView
from customers import api as customers_api
from customers import org_api
from customers.imports.api import ImportViewSet
from customers.tiering import api as tier_api
from forecasts import api as forecasts_api
from integrations import api as integrations_api
from managers import api as managers_api
from notices import api as notices_api
from notices import committee_api
from service import api as service_api
from service import board_api, calendar_api, intake_api, people_api
from training import api as training_api
from visits import api as visits_api
from visits import photo_api as visit_photo_api

# The error shapes are added to every operation (crm/common/errors.py) and choice sets shared by
# several apps get one name each. These belong in SPECTACULAR_SETTINGS too, so that
# `manage.py spectacular` writes the same schema as /api/v1/schema/ serves.
router = DefaultRouter()
router.register("companies", org_api.CompanyViewSet, basename="company")
router.register("branches", org_api.BranchViewSet, basename="branch")
router.register("stations", customers_api.StationViewSet, basename="station")
router.register("communities", customers_api.CommunityViewSet, basename="community")
router.register(
    "transformer-districts", customers_api.TransformerDistrictViewSet, basename="transformer-district"
)
router.register("customers", customers_api.CustomerViewSet, basename="customer")
router.register("contacts", customers_api.ContactViewSet, basename="contact")
router.register("imports", ImportViewSet, basename="import")
router.register("managers", managers_api.ManagerViewSet, basename="manager")
router.register("assignments", managers_api.AssignmentViewSet, basename="assignment")
router.register("tier-policies", tier_api.TierPolicyViewSet, basename="tier-policy")
router.register("classification-runs", tier_api.ClassificationRunViewSet, basename="classification-run")
router.register("visit-policies", visits_api.VisitPolicyViewSet, basename="visit-policy")
router.register("visit-tasks", visits_api.VisitTaskViewSet, basename="visit-task")
router.register("visit-runs", visits_api.VisitRunViewSet, basename="visit-run")
router.register("visit-reports", visit_photo_api.VisitReportViewSet, basename="visit-report")
router.register("appraisal-cycles", appraisal_api.AppraisalCycleViewSet, basename="appraisal-cycle")
router.register("appraisals", appraisal_api.AppraisalViewSet, basename="appraisal")
router.register("courses", training_api.CourseViewSet, basename="course")
router.register("training-records", training_api.TrainingRecordViewSet, basename="training-record")
router.register("departments", people_api.DepartmentViewSet, basename="department")
router.register("users", people_api.UserViewSet, basename="user")
router.register("service-requests", service_api.ServiceRequestViewSet, basename="service-request")
router.register(
    "service-request-templates", service_api.RequestTemplateViewSet, basename="service-request-template"
)
router.register("forecast-runs", forecasts_api.BaselineRunViewSet, basename="forecast-run")
router.register("feeders", notices_api.FeederViewSet, basename="feeder")
router.register("outage-notices", notices_api.OutageNoticeViewSet, basename="outage-notice")
router.register("committees", committee_api.CommitteeViewSet, basename="committee")
router.register("committee-meetings", committee_api.MeetingViewSet, basename="committee-meeting")

router.register("webhook-endpoints", integrations_api.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", integrations_api.WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("consumption/bulk/", customers_api.ConsumptionBulkView.as_view(), name="consumption-bulk"),
    path("call-centre/tickets/", service_api.CallCentreTicketView.as_view(), name="call-centre-tickets"),
    path(
        "call-centre/tickets/batch/",
        intake_api.CallCentreTicketBatchView.as_view(),
        name="call-centre-tickets-batch",
    ),
    # before the day's path, whose <str:date> would take "years"
    path("work-calendar/years/", calendar_api.WorkCalendarYearsView.as_view(), name="work-calendar-years"),
    path("work-calendar/<str:date>/", calendar_api.WorkCalendarDayView.as_view(), name="work-calendar-day"),
    path("work-calendar/", calendar_api.WorkCalendarView.as_view(), name="work-calendar"),
    path("training-compliance/", training_api.TrainingComplianceView.as_view(), name="training-compliance"),
    path("sla-board/", board_api.SlaBoardView.as_view(), name="sla-board"),
    path(
        "customers/<int:pk>/tier-history/", tier_api.TierHistoryView.as_view(), name="customer-tier-history"
    ),
    path("customers/<int:pk>/pin-tier/", tier_api.PinTierView.as_view(), name="customer-pin-tier"),
    path("customers/<int:pk>/outages/", notices_api.CustomerOutagesView.as_view(), name="customer-outages"),
    path(
        "customers/<int:pk>/forecasts/",
        forecasts_api.CustomerForecastsView.as_view(),
        name="customer-forecasts",
    ),
    path("forecast-scores/", forecasts_api.ForecastScoresView.as_view(), name="forecast-scores"),
    path("industry-trends/", forecasts_api.IndustryTrendsView.as_view(), name="industry-trends"),
    path("call-centre/outages/", notices_api.CallCentreOutagesView.as_view(), name="call-centre-outages"),
    path("health/", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]
