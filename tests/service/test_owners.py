"""Who owns a request (service.md, "Owner")."""

from decimal import Decimal

from crm.accounts import roles
from managers.models import Role
from service.models import ServiceRequest
from service.owners import applicant_tier, owner_for_applicant
from service.services import Applicant, request_open
from tests.factories import CustomerFactory, ManagerFactory, UserFactory


def manager(station, role, **kwargs):
    return ManagerFactory(station=station, role=role, **kwargs)


def test_an_applicant_for_400_kva_is_a_key_account(db):
    assert applicant_tier(capacity_kva=Decimal("400"), voltage_kv=Decimal("0.38")) == "key_account"


def test_an_applicant_at_110_kv_is_a_vip(db):
    assert applicant_tier(capacity_kva=Decimal("10000"), voltage_kv=Decimal("110")) == "vip"


def test_a_small_applicant_is_a_transformer_district_customer(db):
    assert applicant_tier(capacity_kva=Decimal("8"), voltage_kv=Decimal("0.22")) == "transformer_district"


def test_an_applicants_request_goes_to_the_least_loaded_manager_of_its_tiers_role(world):
    # given two key account managers in station A, the world's with one customer, a new one with none
    free = manager(world.station_a, Role.KEY_ACCOUNT_MANAGER)
    owner = owner_for_applicant(
        station_id=world.station_a.pk, capacity_kva=Decimal("400"), voltage_kv=Decimal("10")
    )
    assert owner == free.user


def test_an_unqualified_or_inactive_manager_gets_no_applicant(world):
    manager(world.station_b, Role.VIP_MANAGER, qualified=False)
    manager(world.station_b, Role.VIP_MANAGER, active=False)
    assert (
        owner_for_applicant(station_id=world.station_b.pk, capacity_kva=None, voltage_kv=Decimal("110"))
        is None
    )


def test_a_full_manager_gets_no_applicant(world):
    full = manager(world.station_b, Role.TRANSFORMER_DISTRICT_MANAGER, max_customers=1)
    CustomerFactory(station=world.station_b, manager=full.user)
    assert (
        owner_for_applicant(station_id=world.station_b.pk, capacity_kva=Decimal("8"), voltage_kv=None) is None
    )


def test_an_applicants_request_nobody_can_take_is_on_the_supervisors_list(world):
    # given no transformer-district manager in station A
    request = request_open(
        kind="new_connection",
        subtype="residential",
        source="counter",
        by=world.admin,
        applicant=Applicant(
            "王五", phone="13900000000", capacity_kva=Decimal("8"), voltage_kv=Decimal("0.22")
        ),
        station=world.station_a,
    )
    # then it has no owner, manager A's supervisor sees it and manager B does not
    assert request.owner is None
    assert ServiceRequest.objects.visible_to(world.supervisor).filter(pk=request.pk).exists()
    assert not ServiceRequest.objects.visible_to(world.manager_b.user).filter(pk=request.pk).exists()


def test_a_customer_without_a_manager_gives_a_request_without_owner(world):
    customer = CustomerFactory(station=world.station_a, manager=None)
    request = request_open(kind="meter_fault", source="counter", by=None, customer=customer)
    assert request.owner is None


def test_a_key_account_applicants_request_goes_to_a_key_account_manager(world):
    request = request_open(
        kind="new_connection",
        subtype="hv_single",
        source="counter",
        by=UserFactory(username="admin3", role=roles.ADMINISTRATOR),
        applicant=Applicant("某新材料公司", capacity_kva=Decimal("1250"), voltage_kv=Decimal("10")),
        station=world.station_a,
    )
    assert request.owner == world.manager_a.user
