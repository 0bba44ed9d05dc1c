"""The left navigation: the funnel's parts in order, each shown only to roles that use it."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from leadflow.accounts.models import Role, User

EVERYONE = frozenset(Role.values)
MARKETING = frozenset({Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER})


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    roles: frozenset[str] = EVERYONE


# Parts that do not exist yet are left out by `items_for`, so the menu never links to a 404.
NAVIGATION = (
    NavItem("Dashboard", "insights:dashboard", "gauge"),
    NavItem("Contacts", "contacts:list", "users"),
    NavItem("Companies", "contacts:companies", "building"),
    NavItem("Capture", "capture:index", "inbox", MARKETING),
    NavItem("Imports", "acquisition:index", "upload", MARKETING),
    NavItem("Duplicates", "acquisition:duplicates", "merge", MARKETING),
    NavItem("Segments", "qualification:segments", "filter", MARKETING),
    NavItem("Scoring", "qualification:scoring", "star", MARKETING),
    NavItem("Nurture", "nurture:index", "mail"),
    NavItem("Deals", "sales:deals", "handshake"),
    NavItem("Reports", "insights:reports", "chart", MARKETING),
)


def items_for(user: User, current_path: str) -> list[dict]:
    role = Role.ADMIN if user.is_superuser else user.role
    items = []
    for item in NAVIGATION:
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": item.label,
                "url": url,
                "icon": item.icon,
                # A section stays highlighted on its sub-pages (/contacts/42/ under /contacts/).
                "active": current_path.startswith(url),
            }
        )
    return items
