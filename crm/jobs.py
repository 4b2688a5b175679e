"""Where the background steps are chained: each app's tasks know only their own app; this module
may see them all (conventions.md, "A cross-app reaction is never a signal")."""


def portfolios_changed() -> None:
    """Customers or territories changed: give every customer the manager the rules choose."""
    from managers.tasks import reconcile_assignments_task

    reconcile_assignments_task.delay()


def consumption_landed() -> None:
    """A month of consumption landed: queue a reclassification (classification_queued follows)."""
    from customers.classification import classification_run_start
    from customers.models import ClassificationRun

    classification_run_start(trigger=ClassificationRun.Trigger.CONSUMPTION)


def classification_queued(*, run_id: int) -> None:
    """A reclassification was queued (on demand, monthly, or after consumption landed): classify,
    then move the customers whose tier changed, then cancel their old tier's open visits and open a
    welcome visit with the new manager, then let every other customer find its manager."""
    from celery import chain

    from customers.classification_tasks import reclassify_customers_task
    from managers.tasks import reassign_after_classification_task, reconcile_assignments_task
    from visits.tasks import visits_after_classification_task

    chain(
        reclassify_customers_task.si(run_id),
        reassign_after_classification_task.si(run_id),
        visits_after_classification_task.si(run_id),
        reconcile_assignments_task.si(),
    ).delay()


def tier_changed(*, customer_ids: list[int]) -> None:
    """Tiers changed outside a run (a pin): move those customers to a manager of the new role."""
    from celery import chain

    from managers.tasks import reassign_customers_task
    from visits.tasks import visits_after_tier_pin_task

    chain(reassign_customers_task.si(customer_ids), visits_after_tier_pin_task.si(customer_ids)).delay()


def manager_changed(*, manager_id: int) -> None:
    """A manager profile was created or changed (perhaps its role): training keeps `qualified` current."""
    from training.services import manager_changed as training_manager_changed

    training_manager_changed(manager_id=manager_id)
