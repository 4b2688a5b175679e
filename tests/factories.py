"""factory_boy factories for every model the tests build."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from crm.accounts import roles
from crm.accounts.models import User
from customers.models import (
    Branch,
    Category,
    Community,
    Company,
    ConsumptionRecord,
    Contact,
    Customer,
    Station,
    Tier,
    TransformerDistrict,
)
from managers.models import Assignment, Manager, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("code",)

    code = "SGCC-X"
    name = "国网某市供电公司"


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    company = factory.SubFactory(CompanyFactory)
    code = "BR01"
    name = "某县供电公司"


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    branch = factory.SubFactory(BranchFactory)
    code = factory.Sequence(lambda n: f"ST{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}供电所")


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community

    station = factory.SubFactory(StationFactory)
    code = factory.Sequence(lambda n: f"CM{n:04d}")
    name = factory.Sequence(lambda n: f"幸福{n}社区")


class TransformerDistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TransformerDistrict

    station = factory.SubFactory(StationFactory)
    code = factory.Sequence(lambda n: f"TD{n:05d}")
    name = factory.Sequence(lambda n: f"张庄{n}号台区")
    transformer_code = factory.Sequence(lambda n: f"T{n:06d}")
    rated_capacity_kva = Decimal("400")


class ManagerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manager

    user = factory.SubFactory(UserFactory, role=roles.ACCOUNT_MANAGER)
    employee_no = factory.Sequence(lambda n: f"E{n:05d}")
    role = Role.KEY_ACCOUNT_MANAGER
    station = factory.SubFactory(StationFactory)
    max_customers = 500
    active = True
    qualified = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    account_no = factory.Sequence(lambda n: f"31{n:08d}")
    name = factory.Sequence(lambda n: f"客户{n}")
    category = Category.RESIDENTIAL
    voltage_kv = Decimal("0.38")
    contracted_capacity_kva = Decimal("8")
    station = factory.SubFactory(StationFactory)
    tier = Tier.TRANSFORMER_DISTRICT
    address = "某县某镇某村"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = "王经理"
    phone = "13800000000"


class ConsumptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsumptionRecord

    customer = factory.SubFactory(CustomerFactory)
    period = dt.date(2026, 1, 1)
    kwh = Decimal("1000")
    amount_yuan = Decimal("560")


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    customer = factory.SubFactory(CustomerFactory)
    manager = factory.SubFactory(UserFactory)
    started_at = factory.Faker("date_time", tzinfo=dt.UTC)
    reason = "test"


# ---------------------------------------------------------------- training
def _training_models():
    from training import models as training_models

    return training_models


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "training.Course"
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"C{n:03d}")
    title = factory.Sequence(lambda n: f"课程{n}")
    category = "basic"
    delivery = "on_the_job"
    hours = Decimal("4")
    pass_mark = 60

    @factory.post_generation
    def required_for(self, create, extracted, **kwargs):
        """`CourseFactory(required_for=[Role.X, ...])` makes the course required for those roles."""
        if create and extracted:
            for role in extracted:
                _training_models().RoleRequirement.objects.create(course=self, role=role)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "training.Session"

    course = factory.SubFactory(CourseFactory)
    date = dt.date(2026, 3, 10)
    place = "县公司培训中心"
    trainer = "王老师"


class TrainingRecordFactory(factory.django.DjangoModelFactory):
    """A record written straight to the table (no qualification refresh: tests call the services for that)."""

    class Meta:
        model = "training.TrainingRecord"

    manager = factory.SubFactory(ManagerFactory)
    course = factory.SubFactory(CourseFactory)
    session = None
    session_date = dt.date(2026, 3, 10)
    hours = factory.LazyAttribute(lambda r: r.course.hours)
    result = "passed"
    score = 80


# ---------------------------------------------------------------- visits
class VisitTaskFactory(factory.django.DjangoModelFactory):
    """A task for a customer (pass community= or transformer_district= with customer=None for those)."""

    class Meta:
        model = "visits.VisitTask"

    kind = "scheduled"
    customer = factory.SubFactory(CustomerFactory)
    manager = factory.LazyAttribute(lambda t: t.customer.manager if t.customer else None)
    period = dt.date(2026, 3, 1)
    due_date = dt.date(2026, 3, 31)
    status = "planned"


class VisitReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "visits.VisitReport"

    task = factory.SubFactory(VisitTaskFactory, status="done")
    visited_on = factory.LazyAttribute(lambda r: r.task.period)
    channel = "on_site"
    business_trend = "stable"
    satisfaction = 5
    forecast_kwh_12m = Decimal("12000")


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "visits.FollowUp"

    report = factory.SubFactory(VisitReportFactory)
    department = "billing"
    action = "核对电费"
    status = "open"


# ---------------------------------------------------------------- appraisal
class AppraisalCycleFactory(factory.django.DjangoModelFactory):
    """A cycle with the default criteria of domain.md (pass `criteria=[]` for none)."""

    class Meta:
        model = "appraisal.AppraisalCycle"
        django_get_or_create = ("year",)
        skip_postgeneration_save = True

    # Past the years the services accept (2000-2100), so a factory cycle never takes the year a
    # test then creates through the service; pass year= (get or create) to share one.
    year = factory.Sequence(lambda n: 2101 + n)
    status = "draft"

    @factory.post_generation
    def criteria(self, create, extracted, **kwargs):
        if not create:
            return
        from appraisal.models import Criterion
        from appraisal.scoring import DEFAULT_CRITERIA

        wanted = DEFAULT_CRITERIA if extracted is None else extracted
        if not self.criteria.exists():
            Criterion.objects.bulk_create(
                Criterion(cycle=self, code=code, name=str(name), weight=weight, position=position)
                for position, (code, name, weight) in enumerate(wanted)
            )


class AppraisalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "appraisal.Appraisal"

    cycle = factory.SubFactory(AppraisalCycleFactory, status="scoring")
    manager = factory.SubFactory(ManagerFactory)
    status = "scoring"


class RaterFactory(factory.django.DjangoModelFactory):
    """A collaborator seat by default; `kind="customer_representative", user=None, name=...` for a
    representative (give `link_expires_at`)."""

    class Meta:
        model = "appraisal.Rater"

    appraisal = factory.SubFactory(AppraisalFactory)
    kind = "collaborator"
    user = factory.SubFactory(UserFactory)
    name = ""


class ScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "appraisal.Score"

    rater = factory.SubFactory(RaterFactory)
    criterion = factory.LazyAttribute(lambda s: s.rater.appraisal.cycle.criteria.first())
    score = 80
    comment = ""


# ---------------------------------------------------------------- one-stop service
def _service_models():
    from service import models

    return models


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "service.Department"
        django_get_or_create = ("code",)

    branch = factory.SubFactory(BranchFactory)
    kind = "metering"
    code = factory.LazyAttributeSequence(lambda d, n: f"{d.branch.code}-{d.kind}-{n}")
    name = factory.LazyAttribute(lambda d: f"{d.branch.name}{_service_models().DepartmentKind(d.kind).label}")


class StaffProfileFactory(factory.django.DjangoModelFactory):
    """A department staff user: `StaffProfileFactory(department=d).user`."""

    class Meta:
        model = "service.StaffProfile"

    user = factory.SubFactory(UserFactory, role=roles.DEPARTMENT_STAFF)
    department = factory.SubFactory(DepartmentFactory)


# ---------------------------------------------------------------- outage notices and the committee
class FeederFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notices.Feeder"

    code = factory.Sequence(lambda n: f"FD{n:04d}")
    name = factory.Sequence(lambda n: f"10kV城关{n}线")
    station = factory.SubFactory(StationFactory)
    substation = "城关110kV变电站"


class FeederDistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notices.FeederDistrict"

    feeder = factory.SubFactory(FeederFactory)
    transformer_district = factory.SubFactory(
        TransformerDistrictFactory, station=factory.SelfAttribute("..feeder.station")
    )


class OutageNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notices.OutageNotice"

    branch = factory.SubFactory(BranchFactory)
    kind = "planned"
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=10))
    ends_at = factory.LazyAttribute(lambda n: n.starts_at + dt.timedelta(hours=8))
    reason = "线路检修"


class CommitteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notices.Committee"

    branch = factory.SubFactory(BranchFactory)
    name = factory.Sequence(lambda n: f"客户关系委员会{n}")


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notices.Meeting"

    committee = factory.SubFactory(CommitteeFactory)
    held_on = dt.date(2026, 11, 20)
    place = "公司三楼会议室"


# ---------------------------------------------------------------- forecasts and webhooks
class BaselineRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "forecasts.BaselineRun"

    made_for = dt.date(2026, 10, 1)
    trigger = "schedule"
    status = "done"


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.WebhookEndpoint"

    url = factory.Sequence(lambda n: f"https://erp.example.cn/hooks/{n}")
    events = ["customer.tier_changed"]
    secret = factory.Sequence(lambda n: f"whsec_{n:032d}")


class OutboxEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "common.OutboxEvent"

    event_type = "customer.tier_changed"
    payload = factory.LazyFunction(dict)
    occurred_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.WebhookDelivery"

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.SubFactory(OutboxEventFactory)
    event_type = factory.SelfAttribute("event.event_type")
