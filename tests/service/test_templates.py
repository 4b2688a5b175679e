"""Request templates (service.md, "Stages"): the defaults as data, the version in force, new
versions that leave running requests alone."""

import datetime as dt
import importlib
import json
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from service.models import RequestTemplate
from service.services import request_open
from service.templates_data import DEFAULTS, template_create, template_in_force

LOCAL = ZoneInfo("Asia/Shanghai")


def stage(code="check", limit=3, unit="working_days", **extra) -> dict:
    return {
        "code": code,
        "name": "检查",
        "department_kind": "metering",
        "limit": limit,
        "unit": unit,
        "pauses_for_customer": False,
    } | extra


@pytest.fixture(autouse=True)
def defaults(db):
    """The defaults as the data migration loads them (a transactional test may have flushed them)."""
    from service.templates_data import default_rows

    for row in default_rows():
        key = {name: row.pop(name) for name in ("kind", "subtype", "variant", "version")}
        RequestTemplate.objects.get_or_create(**key, defaults=row)


def new_meter_fault_version(effective_from=dt.date(2026, 6, 1), **kwargs) -> RequestTemplate:
    fields = {
        "kind": "meter_fault",
        "effective_from": effective_from,
        "stages": [stage(limit=2), stage(code="confirm", limit=1)],
        "total_limit": 3,
        "total_unit": "working_days",
    }
    return template_create(**(fields | kwargs))


def test_the_data_migration_loads_every_default_as_version_1(db):
    # given the migration's function run on the tables as they are (it is idempotent: a database a
    # transactional test flushed has nothing, a fresh one has the migration's rows already)
    from django.apps import apps

    migration = importlib.import_module("service.migrations.0003_default_templates")
    migration.load(apps, None)
    # then every default of service.md is there as version 1 from 2023-01-01, once
    rows = RequestTemplate.objects.filter(version=1, effective_from=dt.date(2023, 1, 1))
    assert sorted((t.kind, t.subtype, t.variant) for t in rows) == sorted(DEFAULTS)


def test_the_data_migration_writes_what_templates_data_holds(db):
    migration = importlib.import_module("service.migrations.0003_default_templates")
    frozen = {(row["kind"], row["subtype"], row["variant"]): row for row in migration.TEMPLATES}
    assert {key: (row["stages"], row["total_limit"], row["total_unit"]) for key, row in frozen.items()} == {
        key: (stages, total, unit) for key, (stages, total, unit) in DEFAULTS.items()
    }


def test_the_default_high_voltage_single_supply_has_seven_stages_in_22_working_days(db):
    template = template_in_force("new_connection", "hv_single", "", dt.date(2026, 1, 1))
    assert [(s["code"], s["limit"]) for s in template.stages] == [
        ("accept", 1),
        ("survey", 2),
        ("supply_plan", 15),
        ("design_review", 10),
        ("mid_inspection", 5),
        ("completion", 5),
        ("connect", 5),
    ]
    assert (template.total_limit, template.total_unit) == (22, "working_days")


def test_dual_supply_gives_the_supply_plan_30_working_days_and_32_in_all(db):
    template = template_in_force("new_connection", "hv_dual", "", dt.date(2026, 1, 1))
    assert template.stages[2]["limit"] == 30
    assert template.total_limit == 32


def test_a_new_version_is_in_force_from_its_date_on(db):
    new = new_meter_fault_version(effective_from=dt.date(2026, 6, 1))
    assert template_in_force("meter_fault", "", "", dt.date(2026, 5, 31)).version == 1
    assert template_in_force("meter_fault", "", "", dt.date(2026, 6, 1)) == new


def test_a_new_version_takes_the_next_number(db):
    assert new_meter_fault_version().version == 2
    assert new_meter_fault_version(effective_from=dt.date(2026, 7, 1)).version == 3


def test_a_new_version_leaves_a_running_request_on_its_own(world):
    # given a meter fault opened on version 1 (one stage of 4 working days)
    running = request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )
    # when a version of two stages comes into force
    new_meter_fault_version(effective_from=dt.date(2026, 1, 1))
    # then the running request keeps its template and its stages, and a new one follows the new version
    running.refresh_from_db()
    assert running.template.version == 1
    assert [s.code for s in running.stages.all()] == ["check"]
    later = request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )
    assert [s.code for s in later.stages.order_by("position")] == ["check", "confirm"]


def test_a_request_received_before_a_new_version_follows_the_old_one(world):
    new_meter_fault_version(effective_from=dt.date(2026, 6, 1))
    request = request_open(
        kind="meter_fault",
        source="manager",
        by=world.manager_a.user,
        customer=world.customer_a,
        received_at=dt.datetime(2026, 5, 20, 9, tzinfo=LOCAL),
    )
    assert request.template.version == 1


def test_a_new_version_cannot_start_before_the_current_one(db):
    new_meter_fault_version(effective_from=dt.date(2026, 6, 1))
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(effective_from=dt.date(2026, 5, 1))
    assert "effective_from" in refused.value.message_dict


def test_a_stage_with_an_unknown_unit_is_refused_naming_the_stage(db):
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(stages=[stage(), stage(code="confirm", unit="fortnights")])
    assert refused.value.message_dict["stages"] == ["第2个环节：单位须为工作日、工作小时或分钟。"]
    assert RequestTemplate.objects.filter(kind="meter_fault").count() == 1


def test_two_stages_with_one_code_are_refused(db):
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(stages=[stage(), stage()])
    assert refused.value.message_dict["stages"] == ["第2个环节：编码“check”重复。"]


def test_a_stage_limit_of_zero_is_refused(db):
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(stages=[stage(limit=0)])
    assert "stages" in refused.value.message_dict


def test_an_unknown_department_kind_is_refused(db):
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(stages=[stage(department_kind="canteen")])
    assert "stages" in refused.value.message_dict


def test_an_empty_list_of_stages_is_refused(db):
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(stages=[])
    assert "stages" in refused.value.message_dict


def test_a_variant_the_kind_does_not_take_is_refused(db):
    with pytest.raises(ValidationError) as refused:
        new_meter_fault_version(variant="city")
    assert "variant" in refused.value.message_dict


def test_a_kind_without_any_template_gets_its_default_loaded(db):
    # given the templates of a kind deleted (a flushed database)
    RequestTemplate.objects.filter(kind="praise").delete()
    # when the template in force is asked for
    template = template_in_force("praise", "", "", dt.date(2026, 12, 1))
    # then the default is back as version 1
    assert (template.version, template.total_limit) == (1, 5)


def test_no_version_in_force_yet_is_refused(db):
    RequestTemplate.objects.filter(kind="praise").update(effective_from=dt.date(2030, 1, 1))
    with pytest.raises(ValidationError) as refused:
        template_in_force("praise", "", "", dt.date(2026, 12, 1))
    assert "kind" in refused.value.message_dict


def test_an_administrator_adds_a_version_in_the_admin(world, client):
    # given an administrator in the admin
    client.force_login(world.admin)
    stages = json.dumps(
        [{"code": "check", "name": "检查", "department_kind": "metering", "limit": 2, "unit": "working_days"}]
    )
    # when they add a meter fault template
    response = client.post(
        "/admin/service/requesttemplate/add/",
        {
            "kind": "meter_fault",
            "subtype": "",
            "variant": "",
            "effective_from": "2027-01-01",
            "stages": stages,
            "total_limit": 2,
            "total_unit": "working_days",
        },
    )
    # then it is version 2, with the stage cleaned
    assert response.status_code == 302
    template = RequestTemplate.objects.get(kind="meter_fault", version=2)
    assert template.stages[0]["pauses_for_customer"] is False
    assert template.created_by == world.admin


def test_the_admin_shows_a_bad_stage_on_its_field(world, client):
    client.force_login(world.admin)
    response = client.post(
        "/admin/service/requesttemplate/add/",
        {
            "kind": "meter_fault",
            "effective_from": "2027-01-01",
            "stages": "[]",
            "total_limit": 2,
            "total_unit": "working_days",
        },
    )
    assert response.status_code == 200
    assert "请至少填写一个环节" in response.content.decode()
    assert not RequestTemplate.objects.filter(kind="meter_fault", version=2).exists()
