"""What a manager sends to report a visit: the quick report page's form, and the API's body."""

import datetime as dt


def quick_report_form(visited_on: dt.date, **fields) -> dict:
    """The quick report page's form data for a phone visit with no follow-up; `fields` add or replace."""
    return {
        "visited_on": f"{visited_on:%Y-%m-%d}",
        "channel": "phone",
        "business_trend": "stable",
        "satisfaction": "4",
        "fu-TOTAL_FORMS": "0",
        "fu-INITIAL_FORMS": "0",
        **fields,
    }


def post_report(client, task, visited_on: dt.date, **extra):
    """POST visit-tasks/<id>/report/ with an on-site visit of `visited_on` (an API client)."""
    body = {
        "visited_on": f"{visited_on:%Y-%m-%d}",
        "channel": "on_site",
        "business_trend": "stable",
        "satisfaction": 5,
    }
    return client.post(f"/api/v1/visit-tasks/{task.pk}/report/", body, format="json", **extra)
