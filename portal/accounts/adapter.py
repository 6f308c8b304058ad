from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from .services import user_register


class AccountAdapter(DefaultAccountAdapter):
    """The one place sign-up turns a form into an account: it hands the role-aware part to a service."""

    def logout(self, request):
        user_id = request.user.pk if request.user.is_authenticated else None
        super().logout(request)
        if user_id is not None:
            from mentoring.services.calls import calls_disconnect_user

            calls_disconnect_user(user_id=user_id)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        data = form.cleaned_data
        return user_register(
            user=user,
            display_name=data["display_name"],
            role=data["role"],
            time_zone=data["time_zone"],
        )
