"""The supervisor's side of the unassigned list, for the tests of more than one module."""

from django.urls import reverse


def assign_from_unassigned(client, world, customer, manager, *, follow=False, **form):
    """The supervisor, logged in, gives `customer` to `manager` from the unassigned list."""
    client.force_login(world.supervisor)
    data = {"customer": customer.pk, "manager": manager.pk, **form}
    return client.post(reverse("managers:unassigned"), data, follow=follow)
