from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.validators import validate_one_line

from .timezones import is_valid_timezone


def validate_timezone(value: str) -> None:
    if not is_valid_timezone(value):
        raise ValidationError("Choose a time zone from the list, for example Europe/Berlin.", code="invalid_timezone")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


SUSPENSION_REASON_MAX = 500


class User(AbstractUser):
    """A PeerLearn account. People log in with their email address; there is no username."""

    class Role(models.TextChoices):
        LEARNER = "learner", "Learner"
        MENTOR = "mentor", "Mentor"

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField("name", max_length=80, validators=[validate_one_line])
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.LEARNER)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Moderation: until then the person cannot log in (and is shown the reason). Kept once it has
    # passed, as the record, and because it voids the logins made before the suspension (see below).
    suspended_until = models.DateTimeField("suspended until", null=True, blank=True)
    suspension_reason = models.TextField("suspension reason", max_length=SUSPENSION_REASON_MAX, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    objects = UserManager()

    class Meta:
        ordering = ["display_name", "email"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=["learner", "mentor"]), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name.split(" ")[0] if self.display_name else self.email

    def is_suspended(self, now: datetime | None = None) -> bool:
        """Suspended at ``now``: the suspension lifts itself when its time has passed."""
        return self.suspended_until is not None and self.suspended_until > (now or timezone.now())

    # Django keeps a hash of the password in each login's session and ends the login (HTTP and
    # WebSocket alike) when it no longer matches. A suspension goes into that hash too: every login
    # made before it ends at its next request, and stays ended after the suspension lifts.
    def _session_hash(self, secret: str | None) -> str:
        stamp = f"|suspended:{self.suspended_until.isoformat()}" if self.suspended_until else ""
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, self.password + stamp, secret=secret, algorithm="sha256").hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash(None)

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(fallback_secret)

    @property
    def is_mentor(self) -> bool:
        return self.role == self.Role.MENTOR

    @property
    def is_learner(self) -> bool:
        return self.role == self.Role.LEARNER
