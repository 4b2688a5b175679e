"""crm.common.scopes: who sees whose portfolio. Everything shown to a user is narrowed by this."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from crm.common.scopes import ScopedQuerySet, scope_for, team_user_ids
from customers.models import ConsumptionRecord, Customer
from managers.models import Manager
from tests.factories import ConsumptionFactory, TrainingRecordFactory, UserFactory, VisitTaskFactory
from training.models import TrainingRecord
from visits.models import VisitTask


def test_manager_sees_only_themselves(world):
    scope = scope_for(world.manager_a.user)
    assert not scope.sees_all
    assert scope.user_ids == {world.manager_a.pk}


def test_supervisor_sees_themselves_and_their_reports(world):
    scope = scope_for(world.supervisor)
    assert scope.user_ids == {world.supervisor.pk, world.manager_a.pk}


def test_scope_reaches_down_the_whole_reporting_tree(db):
    # Given a chief over a supervisor over a manager
    chief = UserFactory(username="chief")
    middle = UserFactory(username="middle", supervisor=chief)
    leaf = UserFactory(username="leaf", supervisor=middle)
    # then the chief's scope holds all three, the middle one's two
    assert team_user_ids(chief.pk) == {chief.pk, middle.pk, leaf.pk}
    assert team_user_ids(middle.pk) == {middle.pk, leaf.pk}


def test_a_cycle_in_the_reporting_tree_does_not_loop(db):
    # Given bad data where two users supervise each other (the model refuses it; data may not)
    one = UserFactory(username="one")
    two = UserFactory(username="two", supervisor=one)
    type(one).objects.filter(pk=one.pk).update(supervisor=two)
    assert team_user_ids(one.pk) == {one.pk, two.pk}


def test_administrator_sees_everything(world):
    assert scope_for(world.admin).sees_all


def test_integration_client_sees_everything(world):
    assert scope_for(world.integration).sees_all


def test_see_all_permission_alone_opens_the_whole_scope(db):
    user = UserFactory(username="auditor")
    user.user_permissions.add(Permission.objects.get(codename="see_all_data"))
    fresh = type(user).objects.get(pk=user.pk)  # permissions are cached per user object
    assert scope_for(fresh).sees_all


def test_superuser_sees_everything(db):
    assert scope_for(UserFactory(username="root", is_superuser=True)).sees_all


def test_anonymous_user_sees_nothing(world):
    scope = scope_for(AnonymousUser())
    assert not scope.sees_all
    assert not Customer.objects.visible_to(AnonymousUser()).exists()


def test_inactive_user_sees_nothing(world):
    user = world.manager_a.user
    user.is_active = False
    assert not scope_for(user).user_ids
    assert not scope_for(user).sees_all


def test_querysets_agree_with_the_scope(world):
    # Given the supervisor of manager A: customers and managers are narrowed the same way
    assert set(Customer.objects.visible_to(world.supervisor)) == {world.customer_a}
    assert set(Manager.objects.visible_to(world.supervisor)) == {world.manager_a}
    assert set(Customer.objects.visible_to(world.manager_b.user)) == {world.customer_b}


def test_unassigned_customers_are_seen_only_by_whoever_sees_everything(world):
    from tests.factories import CustomerFactory

    orphan = CustomerFactory(station=world.station_a, manager=None)
    assert orphan not in Customer.objects.visible_to(world.manager_a.user)
    assert orphan in Customer.objects.visible_to(world.admin)


def test_scope_is_computed_once_per_user_object(world, django_assert_num_queries):
    user = type(world.supervisor).objects.get(pk=world.supervisor.pk)
    scope_for(user)
    with django_assert_num_queries(0):
        scope_for(user)


# ---------------------------------------------------------------- ScopedQuerySet
# Each model whose rows belong to a user, with the rows of manager A (supervised) and manager B.
def _customers(world):
    return Customer, world.customer_a, world.customer_b


def _consumption(world):
    return (
        ConsumptionRecord,
        ConsumptionFactory(customer=world.customer_a),
        ConsumptionFactory(customer=world.customer_b),
    )


def _managers(world):
    return Manager, world.manager_a, world.manager_b


def _visit_tasks(world):
    return VisitTask, VisitTaskFactory(customer=world.customer_a), VisitTaskFactory(customer=world.customer_b)


def _training_records(world):
    return (
        TrainingRecord,
        TrainingRecordFactory(manager=world.manager_a),
        TrainingRecordFactory(manager=world.manager_b),
    )


SCOPED = pytest.mark.parametrize(
    "rows",
    [_customers, _consumption, _managers, _visit_tasks, _training_records],
    ids=[
        "customer:manager_id",
        "consumption:customer__manager_id",
        "manager:user_id",
        "visit_task",
        "training",
    ],
)


@SCOPED
def test_scoped_model_states_only_its_field_path(rows, world):
    # Given a model whose rows belong to a user
    model, _, _ = rows(world)
    queryset_class = type(model.objects.all())
    # then its visible_to is the shared one, narrowed by the path it names
    assert issubclass(queryset_class, ScopedQuerySet)
    assert "visible_to" not in vars(queryset_class)
    assert queryset_class.scope_field


@SCOPED
def test_scoped_queryset_shows_a_manager_their_own_rows(rows, world):
    # Given rows of managers A and B
    model, row_a, _ = rows(world)
    # when manager A asks, then only A's row is visible
    assert set(model.objects.visible_to(world.manager_a.user)) == {row_a}


@SCOPED
def test_scoped_queryset_shows_a_supervisor_their_teams_rows(rows, world):
    # Given rows of manager A (in the supervisor's team) and manager B (not)
    model, row_a, _ = rows(world)
    # when the supervisor asks, then A's row is visible and B's is not
    assert set(model.objects.visible_to(world.supervisor)) == {row_a}


@SCOPED
def test_scoped_queryset_shows_an_administrator_every_row(rows, world):
    model, row_a, row_b = rows(world)
    assert set(model.objects.visible_to(world.admin)) == {row_a, row_b}


@SCOPED
def test_scoped_queryset_shows_an_inactive_user_nothing(rows, world):
    # Given manager A's own row, and manager A deactivated
    model, _, _ = rows(world)
    user = type(world.manager_a.user).objects.get(pk=world.manager_a.pk)
    user.is_active = False
    # then nothing is visible to them, not even their own row
    assert not model.objects.visible_to(user).exists()
