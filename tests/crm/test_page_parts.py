"""A lower app's page gets the parts the apps above it hold from crm/pages.py, by name
(crm/common/pages.py), and its templates only render: no template tag or filter fetches data."""

import contextlib
import importlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.template import engines
from django.template.base import Template
from django.urls import reverse

from crm.common import pages
from customers.tiering.services import customer_pin_tier
from tests.factories import AssignmentFactory, FollowUpFactory, VisitReportFactory, VisitTaskFactory


def test_parts_of_a_page_the_settings_do_not_name_are_refused_with_its_name(settings):
    # Given the parts of the settings
    settings.CRM_PAGE_PARTS = {"home": "crm.pages.home"}
    # When a view asks for the parts of a page nobody configured (a typo, say)
    # Then it is refused, naming the page
    with pytest.raises(ImproperlyConfigured, match="customer_details"):
        pages.parts("customer_details", request=None)


def test_no_template_tag_library_of_the_project_registers_a_tag():
    """A tag (`simple_tag`, `inclusion_tag`) is code a template calls with arguments of its choosing,
    and so the way a query hides in a template: the customer page once loaded `{% visit_history
    customer %}`, which read the visits behind its view's back. The project's libraries hold filters
    only, which format a value the view already has; the page's data comes from its view, or from
    crm/pages.py for what the apps above it hold. A filter could still query: the test below
    renders the pages that show other apps' data and counts what their templates ask the database."""
    engine = engines["django"].engine
    root = Path(settings.BASE_DIR).resolve()
    ours = {
        name: library
        for name, library in engine.template_libraries.items()
        if _module_path(engine.libraries[name]).is_relative_to(root)
        and ".venv" not in _module_path(engine.libraries[name]).parts
    }
    assert ours, "the project's own libraries were not found"
    assert {name: sorted(library.tags) for name, library in ours.items() if library.tags} == {}


def _module_path(module_name: str) -> Path:
    return Path(importlib.import_module(module_name).__file__).resolve()


@contextlib.contextmanager
def queries_while_templates_render(monkeypatch):
    """The SQL run while a template's nodes render (after the context processors ran): the reads a
    template makes itself, through a tag, a filter or a lazy relation the view did not load."""
    depth, seen = [0], []
    render = Template._render

    def counting_render(self, context):
        depth[0] += 1
        try:
            return render(self, context)
        finally:
            depth[0] -= 1

    def record(execute, sql, params, many, context):
        if depth[0]:
            seen.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(Template, "_render", counting_render)
    with connection.execute_wrapper(record):
        yield seen


@pytest.mark.parametrize("role", ["manager", "supervisor", "administrator"])
def test_the_customer_page_and_home_render_without_a_query_of_their_templates(
    client, world, monkeypatch, role
):
    # Given customer A with a visit, its report and a follow-up, an assignment, a tier change and
    # an audited pin: every section of its page has rows to show
    report = VisitReportFactory(task=VisitTaskFactory(customer=world.customer_a, status="done"))
    FollowUpFactory(report=report)
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user, reason="按台区调整")
    customer_pin_tier(customer=world.customer_a, tier="vip", reason="市重点项目", until=None, by=world.admin)
    user = {"manager": world.manager_a.user, "supervisor": world.supervisor, "administrator": world.admin}
    client.force_login(user[role])
    # When the customer page and the home page are rendered
    with queries_while_templates_render(monkeypatch) as seen:
        customer_page = client.get(reverse("customers:detail", args=[world.customer_a.pk]))
        home = client.get(reverse("home"))
    # Then they show the other apps' parts, and their templates asked the database nothing
    assert (customer_page.status_code, home.status_code) == (200, 200)
    html = customer_page.content.decode()
    assert "按台区调整" in html  # managers' assignment history
    assert report.follow_ups.get().action in html  # visits' history, with the follow-up
    assert "市重点项目" in html  # customers' own tier section and audit trail
    assert home.context["summary"].kind in {"mine", "team", "company"}
    assert seen == []
