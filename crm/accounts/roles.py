"""The five roles of the product as Django groups, with the permissions each holds.

Permissions decide what a role may do; `crm.common.scopes` decides which objects it may do it to."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from crm.accounts.backends import load_access

ACCOUNT_MANAGER = "account_manager"
SUPERVISOR = "supervisor"
ADMINISTRATOR = "administrator"
INTEGRATION_CLIENT = "integration_client"
DEPARTMENT_STAFF = "department_staff"

_READ_REFERENCE = [
    "customers.view_company",
    "customers.view_branch",
    "customers.view_station",
    "customers.view_community",
    "customers.view_transformerdistrict",
]
_READ_PORTFOLIO = [
    "customers.view_customer",
    "customers.view_contact",
    "customers.add_contact",
    "customers.change_contact",
    "customers.delete_contact",
    "customers.view_consumptionrecord",
    "managers.view_manager",
    "managers.view_assignment",
]
# Training: everyone reads courses and (within their scope) records; supervisors enter results.
_READ_TRAINING = ["training.view_course", "training.view_session", "training.view_trainingrecord"]
_RECORD_TRAINING = [
    "training.add_session",
    "training.change_session",
    "training.add_trainingrecord",
    "training.change_trainingrecord",
]
# Visits: managers plan and report their own visits; supervisors also see the runs (below).
_WORK_VISITS = [
    "visits.view_visitpolicy",
    "visits.view_visittask",
    "visits.add_visittask",
    "visits.change_visittask",
    "visits.view_visitreport",
    "visits.add_visitreport",
    "visits.view_followup",
    "visits.change_followup",
]
# The runs of the visit jobs are company-wide records (how many tasks were made for everyone): for
# those who oversee the work, not for a manager, who cannot start one either.
_SEE_VISIT_RUNS = ["visits.view_visitrun"]
# Appraisal: everyone reads (within Appraisal.objects.visible_to) and, on a panel seat, scores with
# no further permission; supervisors work their team's appraisals and panels.
_VIEW_APPRAISALS = [
    "appraisal.view_appraisalcycle",
    "appraisal.view_criterion",
    "appraisal.view_appraisal",
    "appraisal.view_rater",
    "appraisal.view_score",
]
_WORK_APPRAISALS = [
    "appraisal.add_appraisal",
    "appraisal.change_appraisal",
    "appraisal.add_rater",
    "appraisal.change_rater",
    "appraisal.delete_rater",
]

# One-stop service (service.md): requests are seen within service.selectors.requests_visible_to;
# managers open and carry them, departments work their stages, everyone reads the references.
_READ_SERVICE = [
    "service.view_department",
    "service.view_requesttemplate",
    "service.view_calendarday",
    "service.view_servicerequest",
    "service.view_requeststage",
    "service.view_callback",
    "service.view_alert",
]
_CARRY_REQUESTS = [
    "service.add_servicerequest",
    "service.change_servicerequest",
    "service.change_requeststage",
    "service.add_callback",
]

# Outage notices and the committee (committee.md): everyone reads; managers acknowledge their
# call tasks (a change of the delivery); supervisors issue notices and run their committees.
_READ_NOTICES = [
    "notices.view_feeder",
    "notices.view_outagenotice",
    "notices.view_delivery",
    "notices.change_delivery",
    "notices.view_committee",
    "notices.view_meeting",
]
_ISSUE_NOTICES = [
    "notices.add_outagenotice",
    "notices.change_outagenotice",
    "notices.add_committee",
    "notices.change_committee",
    "notices.add_meeting",
    "notices.change_meeting",
]

# Forecasts (forecasting.md): baselines are read with the customers they forecast; the runs that
# compute them are company-wide records, for those who oversee the work (as the visit runs).
_READ_FORECASTS = ["forecasts.view_baseline"]
_SEE_FORECAST_RUNS = ["forecasts.view_baselinerun"]

ROLE_PERMISSIONS: dict[str, list[str] | str] = {
    ACCOUNT_MANAGER: _READ_REFERENCE
    + _READ_PORTFOLIO
    + _READ_TRAINING
    + _WORK_VISITS
    + _VIEW_APPRAISALS
    + _READ_SERVICE
    + _CARRY_REQUESTS
    + _READ_NOTICES
    + _READ_FORECASTS,
    SUPERVISOR: _READ_REFERENCE
    + _READ_PORTFOLIO
    + ["managers.add_assignment", "managers.change_manager", "customers.view_importjob"]
    + _READ_TRAINING
    + _RECORD_TRAINING
    + _WORK_VISITS
    + _SEE_VISIT_RUNS
    + _VIEW_APPRAISALS
    + _WORK_APPRAISALS
    + _READ_SERVICE
    + _CARRY_REQUESTS
    + _READ_NOTICES
    + _ISSUE_NOTICES
    + _READ_FORECASTS
    + _SEE_FORECAST_RUNS,
    # Administrators hold every permission of the product's apps.
    ADMINISTRATOR: "*",
    INTEGRATION_CLIENT: _READ_REFERENCE
    + _READ_PORTFOLIO
    + [
        "accounts.see_all_data",
        "customers.add_customer",
        "customers.change_customer",
        "customers.add_consumptionrecord",
        "customers.change_consumptionrecord",
        "customers.add_importjob",
        "customers.view_importjob",
        "visits.view_visitpolicy",
        "visits.view_visittask",
        "visits.view_visitreport",
        "visits.view_followup",
        # the 95598 call centre's system posts tickets and reads their progress and callbacks
        "service.view_department",
        "service.view_requesttemplate",
        "service.view_servicerequest",
        "service.view_requeststage",
        "service.add_servicerequest",
        "service.view_callback",
        # the call centre asks whether an outage covers a customer
        "notices.view_outagenotice",
        # the marketing system reads the baselines of the customers
        "forecasts.view_baseline",
    ],
    # Department staff work their department's stages; they see no portfolio, only the requests
    # their department has a stage in, and score on an appraisal panel when seated there.
    # (the callback too, which service.services lets only a call-centre department's staff record)
    DEPARTMENT_STAFF: _READ_REFERENCE
    + _VIEW_APPRAISALS
    + _READ_SERVICE
    + ["service.change_requeststage", "service.add_callback"],
}
# Administrators manage users and schedules too, so they hold those apps' permissions as well.
ADMIN_APPS = [
    "common",
    "accounts",
    "auth",
    "authtoken",
    "django_celery_beat",
    "customers",
    "managers",
    "visits",
    "appraisal",
    "training",
    "service",
    "notices",
    "integrations",
    "forecasts",
]


def _permissions(names: list[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def sync_role_groups(**kwargs) -> None:
    """Give each role's group exactly the permissions listed above (after every migrate): one taken
    off a role's list leaves its group too."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if names == "*":
            perms = list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
        else:
            perms = _permissions(names)
        group.permissions.set(perms)


def roles_of(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    if getattr(user, "_crm_roles", None) is None:
        load_access(user)  # with the permissions, in one query
    roles = set(user._crm_roles)
    if user.is_superuser:
        roles.add(ADMINISTRATOR)
    return roles


def leads_a_team(user) -> bool:
    """Supervisors and administrators: they work on other people's portfolios, not only their own
    (pick a manager to filter by, pin tiers, open the team's reports)."""
    return bool(roles_of(user) & {SUPERVISOR, ADMINISTRATOR})
