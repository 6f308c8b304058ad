"""Demo accounts for local development (``seed_demo``). Never for production data."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from .models import User
from .services import user_register


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    role: str = User.Role.LEARNER
    time_zone: str = "UTC"
    is_superuser: bool = False
    groups: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser("admin@peerlearn.local", "Alex Admin", time_zone="Europe/London", is_superuser=True),
    DemoUser("editor@peerlearn.local", "Erin Editor", time_zone="Europe/Berlin", groups=("Editors",)),
    DemoUser("mentor1@peerlearn.local", "Maya Chen", User.Role.MENTOR, "America/New_York"),
    DemoUser("mentor2@peerlearn.local", "Jonas Weber", User.Role.MENTOR, "Europe/Berlin"),
    DemoUser("mentor3@peerlearn.local", "Aisha Okafor", User.Role.MENTOR, "Africa/Lagos"),
    DemoUser("learner1@peerlearn.local", "Liam Park", User.Role.LEARNER, "Asia/Kolkata"),
    DemoUser("learner2@peerlearn.local", "Sofia Rossi", User.Role.LEARNER, "Europe/Rome"),
    DemoUser("learner3@peerlearn.local", "Noah Kim", User.Role.LEARNER, "Asia/Seoul"),
    DemoUser("learner4@peerlearn.local", "Emma Dubois", User.Role.LEARNER, "Europe/Paris"),
    DemoUser("learner5@peerlearn.local", "Lucas Silva", User.Role.LEARNER, "America/Sao_Paulo"),
)


@transaction.atomic
def demo_users_seed(*, password: str) -> list[str]:
    """Create the demo accounts that are missing; existing ones (and their passwords) are left alone."""
    created: list[str] = []
    for demo in DEMO_USERS:
        if User.objects.filter(email=demo.email).exists():
            continue
        user = User(email=demo.email, is_staff=demo.is_superuser, is_superuser=demo.is_superuser)
        user.set_password(password)
        user_register(user=user, display_name=demo.display_name, role=demo.role, time_zone=demo.time_zone)
        for group_name in demo.groups:
            user.groups.add(Group.objects.get_or_create(name=group_name)[0])
        _mark_email_verified(user)
        created.append(demo.email)
    return created


def _mark_email_verified(user: User) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
