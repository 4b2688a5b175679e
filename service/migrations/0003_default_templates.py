"""The default request templates of service.md (State Grid's published commitments of 2023), as
version 1 of each kind, subtype and variant, in force from 2023-01-01.

The rows are written out here rather than read from service.templates_data, so that this migration
keeps meaning what it meant when it ran whatever the defaults in the code become later."""

import datetime as dt

from django.db import migrations

EFFECTIVE_FROM = dt.date(2023, 1, 1)

TEMPLATES = [
    {
        "kind": "new_connection",
        "subtype": "residential",
        "variant": "",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 3,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
    {
        "kind": "new_connection",
        "subtype": "lv_non_residential",
        "variant": "",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 3,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 6,
        "total_unit": "working_days",
    },
    {
        "kind": "new_connection",
        "subtype": "hv_single",
        "variant": "",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 15,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "design_review",
                "name": "设计审查",
                "department_kind": "marketing",
                "limit": 10,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "mid_inspection",
                "name": "中间检查",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "completion",
                "name": "竣工检验",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 22,
        "total_unit": "working_days",
    },
    {
        "kind": "new_connection",
        "subtype": "hv_dual",
        "variant": "",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 30,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "design_review",
                "name": "设计审查",
                "department_kind": "marketing",
                "limit": 10,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "mid_inspection",
                "name": "中间检查",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "completion",
                "name": "竣工检验",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 32,
        "total_unit": "working_days",
    },
    {
        "kind": "capacity_change",
        "subtype": "increase",
        "variant": "lv",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 3,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 6,
        "total_unit": "working_days",
    },
    {
        "kind": "capacity_change",
        "subtype": "increase",
        "variant": "hv",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 15,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "design_review",
                "name": "设计审查",
                "department_kind": "marketing",
                "limit": 10,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "mid_inspection",
                "name": "中间检查",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "completion",
                "name": "竣工检验",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 22,
        "total_unit": "working_days",
    },
    {
        "kind": "capacity_change",
        "subtype": "decrease",
        "variant": "lv",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 3,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 6,
        "total_unit": "working_days",
    },
    {
        "kind": "capacity_change",
        "subtype": "decrease",
        "variant": "hv",
        "stages": [
            {
                "code": "accept",
                "name": "受理",
                "department_kind": "marketing",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "survey",
                "name": "现场勘查",
                "department_kind": "operations",
                "limit": 2,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "supply_plan",
                "name": "供电方案答复",
                "department_kind": "marketing",
                "limit": 15,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "design_review",
                "name": "设计审查",
                "department_kind": "marketing",
                "limit": 10,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "mid_inspection",
                "name": "中间检查",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "completion",
                "name": "竣工检验",
                "department_kind": "operations",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
            {
                "code": "connect",
                "name": "装表接电",
                "department_kind": "metering",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            },
        ],
        "total_limit": 22,
        "total_unit": "working_days",
    },
    {
        "kind": "orderly_use_agreement",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "agreement",
                "name": "协议签订",
                "department_kind": "marketing",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            }
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
    {
        "kind": "load_control_install",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "install",
                "name": "负控终端安装",
                "department_kind": "metering",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            }
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
    {
        "kind": "prepaid_meter_install",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "install",
                "name": "卡表安装",
                "department_kind": "metering",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": True,
            }
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
    {
        "kind": "billing_query",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "check",
                "name": "核查答复",
                "department_kind": "billing",
                "limit": 6,
                "unit": "working_days",
                "pauses_for_customer": False,
            }
        ],
        "total_limit": 6,
        "total_unit": "working_days",
    },
    {
        "kind": "meter_fault",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "check",
                "name": "计量检查处理",
                "department_kind": "metering",
                "limit": 4,
                "unit": "working_days",
                "pauses_for_customer": False,
            }
        ],
        "total_limit": 4,
        "total_unit": "working_days",
    },
    {
        "kind": "reconnection",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "confirm_payment",
                "name": "缴费确认",
                "department_kind": "billing",
                "limit": 120,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
            {
                "code": "reconnect",
                "name": "复电",
                "department_kind": "operations",
                "limit": 1320,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 1440,
        "total_unit": "minutes",
    },
    {
        "kind": "fault_repair",
        "subtype": "",
        "variant": "city",
        "stages": [
            {
                "code": "arrival",
                "name": "到达现场",
                "department_kind": "operations",
                "limit": 45,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
            {
                "code": "restore",
                "name": "恢复送电",
                "department_kind": "operations",
                "limit": 180,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 225,
        "total_unit": "minutes",
    },
    {
        "kind": "fault_repair",
        "subtype": "",
        "variant": "rural",
        "stages": [
            {
                "code": "arrival",
                "name": "到达现场",
                "department_kind": "operations",
                "limit": 90,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
            {
                "code": "restore",
                "name": "恢复送电",
                "department_kind": "operations",
                "limit": 240,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 330,
        "total_unit": "minutes",
    },
    {
        "kind": "fault_repair",
        "subtype": "",
        "variant": "remote",
        "stages": [
            {
                "code": "arrival",
                "name": "到达现场",
                "department_kind": "operations",
                "limit": 120,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
            {
                "code": "restore",
                "name": "恢复送电",
                "department_kind": "operations",
                "limit": 240,
                "unit": "minutes",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 360,
        "total_unit": "minutes",
    },
    {
        "kind": "complaint",
        "subtype": "service",
        "variant": "",
        "stages": [
            {
                "code": "contact",
                "name": "联系客户",
                "department_kind": "owner",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "marketing",
                "limit": 7,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 7,
        "total_unit": "working_days",
    },
    {
        "kind": "complaint",
        "subtype": "business",
        "variant": "",
        "stages": [
            {
                "code": "contact",
                "name": "联系客户",
                "department_kind": "owner",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "marketing",
                "limit": 7,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 7,
        "total_unit": "working_days",
    },
    {
        "kind": "complaint",
        "subtype": "outage",
        "variant": "",
        "stages": [
            {
                "code": "contact",
                "name": "联系客户",
                "department_kind": "owner",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "operations",
                "limit": 7,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 7,
        "total_unit": "working_days",
    },
    {
        "kind": "complaint",
        "subtype": "power_quality",
        "variant": "",
        "stages": [
            {
                "code": "contact",
                "name": "联系客户",
                "department_kind": "owner",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "operations",
                "limit": 7,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 7,
        "total_unit": "working_days",
    },
    {
        "kind": "complaint",
        "subtype": "grid_construction",
        "variant": "",
        "stages": [
            {
                "code": "contact",
                "name": "联系客户",
                "department_kind": "owner",
                "limit": 1,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "operations",
                "limit": 7,
                "unit": "working_days",
                "pauses_for_customer": False,
            },
        ],
        "total_limit": 7,
        "total_unit": "working_days",
    },
    {
        "kind": "consultation",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "answer",
                "name": "咨询答复",
                "department_kind": "call_centre",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": False,
            }
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
    {
        "kind": "suggestion",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "owner",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": False,
            }
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
    {
        "kind": "praise",
        "subtype": "",
        "variant": "",
        "stages": [
            {
                "code": "answer",
                "name": "处理答复",
                "department_kind": "owner",
                "limit": 5,
                "unit": "working_days",
                "pauses_for_customer": False,
            }
        ],
        "total_limit": 5,
        "total_unit": "working_days",
    },
]


def load(apps, schema_editor):
    RequestTemplate = apps.get_model("service", "RequestTemplate")
    for row in TEMPLATES:
        fields = dict(row)
        RequestTemplate.objects.get_or_create(
            kind=fields.pop("kind"),
            subtype=fields.pop("subtype"),
            variant=fields.pop("variant"),
            version=1,
            defaults={**fields, "effective_from": EFFECTIVE_FROM},
        )


def unload(apps, schema_editor):
    RequestTemplate = apps.get_model("service", "RequestTemplate")
    keys = {(row["kind"], row["subtype"], row["variant"]) for row in TEMPLATES}
    # only version 1 of the defaults, and only where no request uses it (a request protects its template)
    for template in RequestTemplate.objects.filter(version=1, requests__isnull=True):
        if (template.kind, template.subtype, template.variant) in keys:
            template.delete()


class Migration(migrations.Migration):
    dependencies = [("service", "0002_seed_work_calendar")]

    operations = [migrations.RunPython(load, unload)]
