"""Where the background steps are chained: each app's tasks know only their own app; this module
may see them all (conventions.md, "A cross-app reaction is never a signal")."""


def portfolios_changed() -> None:
    """Customers or territories changed: give every customer the manager the rules choose."""
    from managers.tasks import reconcile_assignments_task

    reconcile_assignments_task.delay()


def consumption_landed() -> None:
    """A month of consumption landed. Reclassification joins this chain with the tiering issue."""
    from managers.tasks import reconcile_assignments_task

    reconcile_assignments_task.delay()


def manager_changed(*, manager_id: int) -> None:
    """A manager profile was created or changed (perhaps its role): training keeps `qualified` current."""
    from training.services import manager_changed as training_manager_changed

    training_manager_changed(manager_id=manager_id)
