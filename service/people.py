"""Departments and the people of the product (issue 16, item 1): departments per branch, users with
their roles (the Django groups of crm.accounts.roles) and, for department staff, their department;
and what a staff user's home page shows of their department's queue.

Users live in crm.accounts, below every app; their department lives here (StaffProfile), so the one
write of a user with roles and department is this module's `user_save`, which the `users/` API and
the admin's checks share. Every rule is checked before anything is written: a refused save changes
nothing."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts import roles as role_names
from crm.accounts.roles import roles_of
from crm.common.errors import Conflict
from managers.models import Manager
from service.models import Department, RequestStage, RequestStatus, SlaState, StaffProfile, StageStatus
from service.sla import sla_now_q

User = get_user_model()

ROLES = (
    role_names.ACCOUNT_MANAGER,
    role_names.SUPERVISOR,
    role_names.ADMINISTRATOR,
    role_names.INTEGRATION_CLIENT,
    role_names.DEPARTMENT_STAFF,
)
# the roles whose holders may have reports (managers.services.supervisor_check_move says why)
TEAM_ROLES = {role_names.SUPERVISOR, role_names.ADMINISTRATOR}
USER_FIELDS = ("username", "full_name", "email", "phone", "is_active")
DEPARTMENT_FIELDS = ("code", "name", "kind", "branch")
OPEN_STAGES = (StageStatus.PENDING, StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER)
NOT_GIVEN = ...


def _require(by, perm: str) -> None:
    """`by` None is the system (a data migration, the demo seed), which acts without a user."""
    if by is not None and not by.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


# ---------------------------------------------------------------- departments
@transaction.atomic
def department_save(*, department: Department | None, by, **data) -> Department:
    """Create (department=None) or change a department. Its kind and branch stay while it has open
    stages: they were given to it as the branch's department of that kind, and moving it would
    leave them with a department that no longer does that work there."""
    unknown = set(data) - set(DEPARTMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown department fields: {sorted(unknown)}")
    creating = department is None
    _require(by, "service.add_department" if creating else "service.change_department")
    department = Department() if creating else Department.objects.select_for_update().get(pk=department.pk)
    errors = {}
    if not creating:
        moved = [
            name for name in ("kind", "branch") if name in data and data[name] != getattr(department, name)
        ]
        if moved:
            open_stages = RequestStage.objects.filter(department=department, status__in=OPEN_STAGES).count()
            if open_stages:
                message = _(
                    "This department still has %(n)s open stages: its kind and branch can change only "
                    "once they are done."
                ) % {"n": open_stages}
                errors = {name: [message] for name in moved}
    for name, value in data.items():
        setattr(department, name, value)
    try:
        department.full_clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    department.save()
    return department


@transaction.atomic
def department_delete(*, department: Department, by) -> None:
    """Delete a department nothing uses yet (a mistake); one with staff or stages, even done ones
    (the requests' history names it), is a Conflict."""
    _require(by, "service.delete_department")
    department = Department.objects.select_for_update().get(pk=department.pk)
    staff = StaffProfile.objects.filter(department=department).count()
    stages = RequestStage.objects.filter(department=department).count()
    if staff or stages:
        raise Conflict(
            _(
                "This department still has %(staff)s staff and %(stages)s request stages: give the "
                "staff another department first; a department with stages stays for the requests' record."
            )
            % {"staff": staff, "stages": stages}
        )
    department.delete()


# ---------------------------------------------------------------- users
def user_roles(user) -> set[str]:
    """The product's roles a user holds (their groups among ROLES; not the superuser flag)."""
    return {group.name for group in user.groups.all() if group.name in ROLES}


def _role_errors(*, user, by, creating: bool, old: set[str], new: set[str]) -> list[str]:
    errors = []
    if not creating and old & TEAM_ROLES and not new & TEAM_ROLES and not user.is_superuser:
        reports = User.objects.filter(supervisor=user).count()
        if reports:
            errors.append(
                _("This user still supervises %(n)s users: give them another supervisor first.")
                % {"n": reports}
            )
    dropped_manager = not creating and role_names.ACCOUNT_MANAGER in old - new
    if dropped_manager and Manager.objects.filter(pk=user.pk, active=True).exists():
        errors.append(
            _(
                "This user has an active manager profile: deactivate it first, or keep the account "
                "manager role."
            )
        )
    if by is not None and by.pk == user.pk and role_names.ADMINISTRATOR in old - new:
        errors.append(_("You cannot take away your own administrator role."))
    return errors


def _supervisor_errors(*, user, supervisor) -> list[str]:
    if supervisor is None:
        return []
    if user.pk is not None and supervisor.pk == user.pk:
        return [_("A user cannot be their own supervisor.")]
    if not supervisor.is_active:
        return [_("This user is not active.")]
    if not (roles_of(supervisor) & TEAM_ROLES):
        return [_("Choose a user who is a supervisor or an administrator.")]
    return []


def _department_errors(*, new_roles: set[str], department, given: bool) -> list[str]:
    staff = role_names.DEPARTMENT_STAFF in new_roles
    if staff and department is None:
        return [_("A department staff user needs a department.")]
    if not staff and given and department is not None:
        return [_("Only a department staff user belongs to a department: leave it empty.")]
    return []


@transaction.atomic
def user_save(
    *,
    user=None,
    by,
    roles=None,
    department=NOT_GIVEN,
    supervisor=NOT_GIVEN,
    password: str | None = None,
    **data,
):
    """Create (user=None) or change a user with their roles (`roles`: a list of ROLES; None keeps
    them) and, for department staff, their department (required then, refused otherwise).
    `supervisor` must lead a team. `password` is set on create only, through Django's password
    validators; left out, the user gets no usable password until an administrator sets one.
    Deactivating a user ends their sessions and tokens (crm.accounts.models.User.save)."""
    unknown = set(data) - set(USER_FIELDS)
    if unknown:
        raise TypeError(f"unknown user fields: {sorted(unknown)}")
    creating = user is None
    _require(by, "accounts.add_user" if creating else "accounts.change_user")
    if creating:
        user = User()
        old_roles, profile = set(), None
    else:
        user = User.objects.select_for_update().get(pk=user.pk)
        old_roles = user_roles(user)
        profile = StaffProfile.objects.filter(user=user).select_related("department").first()
    errors: dict[str, list[str]] = {}

    new_roles = old_roles
    if roles is not None:
        unknown_roles = [role for role in roles if role not in ROLES]
        if unknown_roles:
            errors["roles"] = [
                _("Unknown role: %(role)s. Choose among %(roles)s.")
                % {"role": ", ".join(map(str, unknown_roles)), "roles": ", ".join(ROLES)}
            ]
        new_roles = {role for role in roles if role in ROLES}
        errors.setdefault("roles", []).extend(
            _role_errors(user=user, by=by, creating=creating, old=old_roles, new=new_roles)
        )
    given = department is not NOT_GIVEN
    effective = department if given else (profile.department if profile else None)
    errors["department"] = _department_errors(new_roles=new_roles, department=effective, given=given)
    if supervisor is not NOT_GIVEN:
        errors["supervisor"] = _supervisor_errors(user=user, supervisor=supervisor)
        user.supervisor = supervisor
    if password is not None and not creating:
        errors["password"] = [_("The password is set on create only; change it on the password page.")]
    if by is not None and by.pk == user.pk and data.get("is_active") is False:
        errors["is_active"] = [_("You cannot deactivate your own account.")]

    for name, value in data.items():
        setattr(user, name, value)
    try:
        user.full_clean(exclude=["password", "last_login", "date_joined"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if creating and password is not None and not errors.get("password"):
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)

    if creating:
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
    user.save()
    if creating or roles is not None:  # groups that are not roles of the product stay
        user.groups.remove(*Group.objects.filter(name__in=set(ROLES) - new_roles))
        user.groups.add(*Group.objects.filter(name__in=new_roles))
    if role_names.DEPARTMENT_STAFF in new_roles:
        if profile is None:
            StaffProfile.objects.create(user=user, department=effective)
        elif profile.department_id != effective.pk:
            profile.department = effective
            profile.save(update_fields=["department", "updated_at"])
    elif profile is not None:
        profile.delete()
    # the caches of the access just changed (crm.accounts.backends.load_access)
    for cache in ("_crm_roles", "_crm_team", "_crm_scope", "_crm_department"):
        user.__dict__.pop(cache, None)
    return user


@transaction.atomic
def user_delete(*, user, by) -> None:
    """Delete a user who never signed in (one made by mistake). Anyone who has signed in has left
    their name on records (visits, scores, stages done): they are deactivated instead (Conflict)."""
    _require(by, "accounts.delete_user")
    if by is not None and by.pk == user.pk:
        raise Conflict(_("You cannot delete your own account."))
    if user.last_login is not None:
        raise Conflict(_("This user has signed in before and stays on record: deactivate them instead."))
    user.delete()  # a profile, reports or customers still held: ProtectedError, answered 409


# ---------------------------------------------------------------- a staff user's home
@dataclass(frozen=True)
class StaffHome:
    department: Department
    active: int
    warning: int
    breached: int


def staff_home(user) -> StaffHome | None:
    """The queue summary of a department staff user's department (their home page): the stages in
    progress or waiting for the customer, and those at warning and breached as of now. None for
    anyone else. Two queries, whatever the size of the queue."""
    if role_names.DEPARTMENT_STAFF not in roles_of(user):
        return None
    department = Department.objects.filter(staff__user=user).select_related("branch").first()
    if department is None:
        return None
    now = timezone.now()
    # the same stages as the department's queue (service.views.queue)
    counts = RequestStage.objects.filter(
        department=department,
        status__in=[StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER],
        request__status__in=[RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER],
    ).aggregate(
        active=Count("pk"),
        warning=Count("pk", filter=sla_now_q(SlaState.WARNING, now)),
        breached=Count("pk", filter=sla_now_q(SlaState.BREACHED, now)),
    )
    return StaffHome(department=department, **counts)
