from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from .services import user_password_changed, user_register


class AccountAdapter(DefaultAccountAdapter):
    """The one place sign-up turns a form into an account: it hands the role-aware part to a service."""

    def set_password(self, user, password) -> None:
        # Password change (signed in) and password reset (by emailed link) both come here.
        super().set_password(user, password)
        from allauth.core import context

        request = context.request
        session_key = request.session.session_key if request is not None and request.user.is_authenticated else None
        user_password_changed(user=user, session_key=session_key)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        return user_register(
            user=user,
            display_name=data["display_name"],
            role=data["role"],
            time_zone=data["time_zone"],
        )
