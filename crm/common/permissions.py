"""What a user may DO, by Django model permission (the role groups of crm/accounts/roles.py hold them).

What a permitted user may SEE is narrowed by each queryset's `visible_to(user)` (crm/common/scopes.py):
a user without the permission gets 403, an object outside the scope answers 404."""

from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, reading included: a user needs `view_<model>` to list or read."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }


def model_permissions(model) -> type[ModelPermissions]:
    """The same rule for another model than the view's own: a sub-resource such as
    `customers/{id}/contacts/` needs the contact permissions, not the customer ones."""

    class _ModelPermissions(ModelPermissions):
        def _queryset(self, view):
            return model._default_manager.none()

    _ModelPermissions.__name__ = f"{model.__name__}Permissions"
    return _ModelPermissions
