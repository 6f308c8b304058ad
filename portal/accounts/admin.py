from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from mentoring.services import MentoringError
from mentoring.services.moderation import deactivation_check, user_deactivate, user_suspension_lift
from signaling.events import login_id_of

from .models import User
from .services import user_password_changed


class SuspendedFilter(admin.SimpleListFilter):
    title = "suspension"
    parameter_name = "suspended"

    def lookups(self, request, model_admin):
        return [("now", "Suspended now"), ("before", "Suspended before"), ("never", "Never suspended")]

    def queryset(self, request, queryset):
        now = timezone.now()
        return {
            "now": queryset.filter(suspended_until__gt=now),
            "before": queryset.filter(suspended_until__lte=now),
            "never": queryset.filter(suspended_until__isnull=True),
        }.get(self.value() or "", queryset)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "display_name",
        "role",
        "time_zone",
        "is_active",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["role", "is_active", SuspendedFilter, "is_staff", "is_superuser"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "role", "time_zone"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
        # Set by the moderation actions on reports, which end the person's logins and keep the record.
        ("Moderation", {"fields": ["suspended_until", "suspension_reason"]}),
    ]
    readonly_fields = ["suspended_until", "suspension_reason"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "display_name", "role", "password1", "password2"]}),
    ]
    actions = ["deactivate_users", "lift_suspensions"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None or "is_active" not in form.base_fields:
            return form

        class DeactivationCheckedForm(form):
            # Unticking "active" is a deactivation: refused here (yourself, a staff account without
            # being a superuser), before anything is saved.
            def clean_is_active(self):
                active = self.cleaned_data.get("is_active")
                if obj.is_active and not active:
                    try:
                        deactivation_check(user_id=obj.pk, staff=request.user)
                    except MentoringError as error:
                        raise forms.ValidationError(error.message) from None
                return active

        return DeactivationCheckedForm

    @admin.action(description="Deactivate selected users (cancel their bookings and sessions)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        count = 0
        for user in queryset.order_by("pk"):
            if self._deactivate(request, user) is True:
                count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Lift the suspension of selected users now (they are told)", permissions=["change"])
    def lift_suspensions(self, request, queryset):
        lifted = 0
        for user in queryset.order_by("pk"):
            try:
                action = user_suspension_lift(user_id=user.pk, staff=request.user)
            except MentoringError as error:
                self.message_user(request, f"{user.email}: {error.message}", messages.WARNING)
                continue
            if action is not None:
                lifted += 1
                self.log_change(request, user, "Suspension lifted")
        self.message_user(request, f"Lifted {lifted} suspension(s).", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            self._deactivate(request, obj)

    def _deactivate(self, request, user) -> bool | None:
        """Deactivation through the moderation service: what the person held is cancelled (the others
        told), their sockets close, and it is recorded. Also for an account inactive already."""
        try:
            was_active, withdrawn = user_deactivate(user_id=user.pk, staff=request.user)
        except MentoringError as error:
            self.message_user(request, f"{user.email}: {error.message}", messages.WARNING)
            return None
        self.log_change(request, user, f"Deactivated: {withdrawn}")
        self.message_user(request, f"{user.email} was deactivated: {withdrawn}.", messages.INFO)
        return was_active

    def user_change_password(self, request, id, form_url=""):
        # Read before the view runs: saving a password rotates the staff member's own session key.
        keep = login_id_of(request.session) if str(request.user.pk) == str(id) else None
        before = (
            User.objects.filter(pk=id).values_list("password", flat=True).first()
            if request.method == "POST" and str(id).isdigit()
            else None
        )
        response = super().user_change_password(request, id, form_url)
        if (
            before is not None and User.objects.filter(pk=id).exclude(password=before).exists()
        ):  # a new password was saved
            user_password_changed(user=User(pk=int(id)), keep_login=keep)
        return response
