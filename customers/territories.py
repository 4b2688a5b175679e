"""Writes to communities and transformer districts."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.common import hooks
from customers.models import Community

# The manager of a territory must hold the matching role. The role codes are the managers app's
# (managers.models.Role); they are named here as data so that customers does not import managers.
TERRITORY_MANAGER_ROLE = {
    "community": "community_manager",
    "transformerdistrict": "transformer_district_manager",
}


@transaction.atomic
def territory_save(*, territory, by):
    if territory.manager_id is not None:
        profile = getattr(territory.manager, "manager_profile", None)
        wanted = TERRITORY_MANAGER_ROLE[territory._meta.model_name]
        if profile is None or profile.role != wanted or not profile.active:
            message = (
                _("Choose an active community manager.")
                if isinstance(territory, Community)
                else _("Choose an active transformer-district manager.")
            )
            raise ValidationError({"manager": [message]})
    territory.full_clean()
    territory.save()
    hooks.after_commit("portfolios_changed")
    return territory
