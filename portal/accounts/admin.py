from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from signaling.events import close_user_sockets, login_id_of

from .models import User
from .services import user_password_changed, users_deactivate


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "time_zone", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "role", "time_zone"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "display_name", "role", "password1", "password2"]}),
    ]
    actions = ["deactivate_users"]

    @admin.action(description="Deactivate selected users")
    def deactivate_users(self, request, queryset):
        count = users_deactivate(users=queryset)
        self.message_user(request, f"Deactivated {count} user(s).")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            close_user_sockets(user_id=obj.pk)

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
