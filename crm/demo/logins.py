"""The demo logins: fixed usernames, one password for all. Shared by seed_demo and make run's banner."""

from django.utils.translation import gettext_lazy as _

# Long enough for the validators (>= 10 characters), not a common password, not numeric.
DEMO_PASSWORD = "Demo-Power-2026"  # noqa: S105 - a published demo password, only ever set by seed_demo  # nosec B105

ADMIN = "admin"
DIRECTOR = "director"
INTEGRATION = "billing"

# One login per role to show people; every demo user (supervisor2, key3, district7, ...) has the
# same password. The username is numbered within the whole county; 1 is always in 城关供电所.
DEMO_LOGINS = [
    (_("Administrator"), ADMIN),
    (_("Head of marketing (supervises the station supervisors)"), DIRECTOR),
    (_("Station supervisor"), "supervisor1"),
    (_("VIP manager"), "vip1"),
    (_("Key account manager"), "key1"),
    (_("Community manager"), "community1"),
    (_("Transformer-district manager"), "district1"),
    (_("Integration client (API token)"), INTEGRATION),
    # department staff (crm/demo/service.py), one per department of the first branch
    (_("Department staff: marketing and connections"), "marketing1"),
    (_("Department staff: metering"), "metering1"),
    (_("Department staff: billing"), "billing_dept1"),
    (_("Department staff: operations"), "operations1"),
    (_("Department staff: customer service centre (95598)"), "callcentre1"),
    (_("Department staff: other (office)"), "office1"),
]


def logins_table(usernames_present: set[str] | None = None) -> str:
    """The demo logins as an aligned text table; with `usernames_present`, only those that exist."""
    rows = [(str(label), username) for label, username in DEMO_LOGINS]
    if usernames_present is not None:
        rows = [row for row in rows if row[1] in usernames_present]
    if not rows:
        return str(_("No demo users yet: run `manage.py seed_demo`."))
    width = max(_display_width(label) for label, _username in rows)
    lines = [f"  {label}{' ' * (width - _display_width(label))}  {username}" for label, username in rows]
    lines.append(str(_("  Password for every demo user: %(password)s")) % {"password": DEMO_PASSWORD})
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
