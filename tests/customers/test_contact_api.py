"""contacts/: the contacts of the customers in the user's scope, CRUD."""

from customers.models import Contact
from tests.factories import ContactFactory, CustomerFactory

URL = "/api/v1/contacts/"


def test_manager_lists_only_contacts_of_own_customers(world, api):
    mine = ContactFactory(customer=world.customer_a)
    ContactFactory(customer=world.customer_b)
    response = api(world.manager_a.user).get(URL)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [mine.pk]
    assert response.json()["count"] == 1


def test_another_managers_contact_answers_404(world, api):
    other = ContactFactory(customer=world.customer_b)
    client = api(world.manager_a.user)
    assert client.get(f"{URL}{other.pk}/").status_code == 404
    assert client.patch(f"{URL}{other.pk}/", {"name": "x"}, format="json").status_code == 404
    assert client.delete(f"{URL}{other.pk}/").status_code == 404
    assert Contact.objects.filter(pk=other.pk, name=other.name).exists()


def test_search_does_not_find_another_managers_contact(world, api):
    ContactFactory(customer=world.customer_b, name="赵秘书")
    assert api(world.manager_a.user).get(URL, {"search": "赵秘书"}).json()["count"] == 0


def test_supervisor_sees_the_teams_contacts(world, api):
    mine = ContactFactory(customer=world.customer_a)
    ContactFactory(customer=world.customer_b)
    assert [c["id"] for c in api(world.supervisor).get(URL).json()["results"]] == [mine.pk]


def test_administrator_sees_every_contact(world, api):
    ContactFactory(customer=world.customer_a)
    ContactFactory(customer=world.customer_b)
    assert api(world.admin).get(URL).json()["count"] == 2


def test_manager_creates_a_contact_for_own_customer(world, api):
    payload = {"customer": world.customer_a.pk, "name": "周工", "email": "zhou@example.com"}
    response = api(world.manager_a.user).post(URL, payload, format="json")
    assert response.status_code == 201
    assert Contact.objects.get(pk=response.json()["id"]).customer == world.customer_a


def _message(response, pk) -> str:
    return response.json()["customer"][0].replace(str(pk), "<id>")


def test_contact_for_another_managers_customer_is_refused_like_a_missing_one(world, api):
    client = api(world.manager_a.user)
    other = client.post(URL, {"customer": world.customer_b.pk, "name": "x"}, format="json")
    missing = client.post(URL, {"customer": 987654, "name": "x"}, format="json")
    assert other.status_code == missing.status_code == 400
    assert list(other.json()) == ["customer"]
    assert _message(other, world.customer_b.pk) == _message(missing, 987654)
    assert not world.customer_b.contacts.exists()


def test_moving_a_contact_to_another_managers_customer_is_refused(world, api):
    contact = ContactFactory(customer=world.customer_a)
    url = f"{URL}{contact.pk}/"
    response = api(world.manager_a.user).patch(url, {"customer": world.customer_b.pk}, format="json")
    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.customer == world.customer_a


def test_invalid_email_is_refused_on_the_field(world, api):
    payload = {"customer": world.customer_a.pk, "name": "x", "email": "not an address"}
    response = api(world.manager_a.user).post(URL, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_a_new_primary_contact_replaces_the_old_one(world, api):
    old = ContactFactory(customer=world.customer_a, is_primary=True)
    payload = {"customer": world.customer_a.pk, "name": "新联系人", "is_primary": True}
    response = api(world.manager_a.user).post(URL, payload, format="json")
    assert response.status_code == 201
    old.refresh_from_db()
    assert not old.is_primary
    assert world.customer_a.contacts.filter(is_primary=True).count() == 1


def test_manager_deletes_a_contact_of_own_customer(world, api):
    contact = ContactFactory(customer=world.customer_a)
    assert api(world.manager_a.user).delete(f"{URL}{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_contacts_filter_by_customer_and_primary(world, api):
    other_customer = CustomerFactory(station=world.station_a, manager=world.manager_a.user)
    primary = ContactFactory(customer=world.customer_a, is_primary=True)
    ContactFactory(customer=world.customer_a, is_primary=False)
    ContactFactory(customer=other_customer)
    client = api(world.manager_a.user)
    by_customer = client.get(URL, {"customer": world.customer_a.pk}).json()
    assert by_customer["count"] == 2
    both = client.get(URL, {"customer": world.customer_a.pk, "is_primary": "true"}).json()
    assert [c["id"] for c in both["results"]] == [primary.pk]
