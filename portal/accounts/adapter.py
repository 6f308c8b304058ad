from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from signaling.revocation import login_id

from .services import user_password_changed, user_register


class AccountAdapter(DefaultAccountAdapter):
    """The one place sign-up turns a form into an account: it hands the role-aware part to a service."""

    def set_password(self, user, password) -> None:
        # Password change and set (signed in: that login stays) and reset by emailed link (every
        # login of the user is void, the one in this browser too) all come here.
        super().set_password(user, password)
        from allauth.core import context

        request = context.request
        changed_here = (
            request is not None and request.user.is_authenticated and request.user.pk == user.pk
            and request.resolver_match is not None
            and request.resolver_match.url_name in ("account_change_password", "account_set_password")
        )
        user_password_changed(user=user, keep_login=login_id(request.session) if changed_here else None)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        return user_register(
            user=user,
            display_name=data["display_name"],
            role=data["role"],
            time_zone=data["time_zone"],
        )
