"""A completed new connection makes the customer (service.md)."""

from decimal import Decimal

from customers.models import Customer
from managers.models import Role
from service.connection import account_no_for
from service.services import Applicant, callback_record, request_close, request_open, stage_advance
from tests.factories import CustomerFactory, ManagerFactory


def connection(world, **applicant):
    fields = {
        "name": "某新材料公司",
        "phone": "13900000001",
        "address": "开发区1号",
        "capacity_kva": Decimal("1250"),
        "voltage_kv": Decimal("10"),
    }
    return request_open(
        kind="new_connection",
        subtype="hv_single",
        source="counter",
        by=world.admin,
        applicant=Applicant(**(fields | applicant)),
        station=world.station_a,
    )


def done(request, by):
    for stage in request.stages.order_by("position"):
        stage_advance(request=request, stage_code=stage.code, by=by)
    return request_close(request=request, by=by)


def test_closing_a_new_connection_makes_the_applicant_a_customer(world):
    request = done(connection(world), world.admin)
    customer = request.customer
    assert (customer.name, customer.address, customer.station) == (
        "某新材料公司",
        "开发区1号",
        world.station_a,
    )
    assert (customer.contracted_capacity_kva, customer.voltage_kv) == (Decimal("1250"), Decimal("10"))
    assert Customer.objects.get(service_requests=request) == customer


def test_the_new_customer_is_in_the_tier_the_rules_give(world):
    request = done(connection(world), world.admin)
    assert request.customer.tier == "key_account"


def test_the_applicants_phone_becomes_the_primary_contact(world):
    request = done(connection(world), world.admin)
    contact = (
        request.customer.contact_set.get()
        if hasattr(request.customer, "contact_set")
        else request.customer.contacts.get()
    )
    assert (contact.phone, contact.is_primary) == ("13900000001", True)


def test_the_new_customer_goes_to_the_manager_who_carried_the_connection(world):
    request = done(connection(world), world.admin)
    assert request.owner == world.manager_a.user
    assert request.customer.manager == world.manager_a.user


def test_a_new_customer_nobody_owned_is_left_to_the_assignment(world, django_capture_on_commit_callbacks):
    # given a small applicant's connection no manager could take (no transformer-district manager)
    request = connection(world, capacity_kva=Decimal("8"), voltage_kv=Decimal("0.22"))
    assert request.owner is None
    # when it closes after such a manager joined the station
    district = ManagerFactory(station=world.station_a, role=Role.TRANSFORMER_DISTRICT_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        done(request, world.admin)
    # then the assignment every new customer gets gives it to the manager of its tier's role
    customer = Customer.objects.get(service_requests=request)
    assert (customer.tier, customer.manager) == ("transformer_district", district.user)


def test_closing_again_after_a_reopening_makes_no_second_customer(world):
    request = done(connection(world), world.admin)
    callback_record(request=request, reached=True, satisfaction=1, comment="太慢", by=world.integration)
    request_close(request=request, by=world.admin)
    assert Customer.objects.filter(name="某新材料公司").count() == 1


def test_a_taken_account_number_gets_the_next_free_suffix(world):
    request = connection(world)
    CustomerFactory(account_no=account_no_for(request), station=world.station_a)
    done(request, world.admin)
    request.refresh_from_db()
    assert request.customer.account_no == f"9{request.pk:011d}1"


def test_a_new_connection_of_an_existing_customer_makes_nobody(world):
    request = request_open(
        kind="new_connection",
        subtype="residential",
        source="manager",
        by=world.manager_a.user,
        customer=world.customer_a,
    )
    before = Customer.objects.count()
    done(request, world.manager_a.user)
    assert Customer.objects.count() == before
