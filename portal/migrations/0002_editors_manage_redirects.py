from django.db import migrations

CODENAMES = {
    "add_redirect": "Can add redirect",
    "change_redirect": "Can change redirect",
    "delete_redirect": "Can delete redirect",
    "view_redirect": "Can view redirect",
}


def editors_manage_redirects(apps, schema_editor):
    """Editors manage Wagtail's redirects (Settings → Redirects): a moved or renamed page keeps its old
    address working. The permissions are created here when post_migrate has not yet made them."""
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    ContentType = apps.get_model("contenttypes.ContentType")
    redirect_type, _ = ContentType.objects.get_or_create(app_label="wagtailredirects", model="redirect")
    editors, _ = Group.objects.get_or_create(name="Editors")
    for codename, name in CODENAMES.items():
        permission, _ = Permission.objects.get_or_create(
            content_type=redirect_type, codename=codename, defaults={"name": name}
        )
        editors.permissions.add(permission)


def editors_stop_managing_redirects(apps, schema_editor):
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    editors = Group.objects.filter(name="Editors").first()
    if editors is not None:
        editors.permissions.remove(
            *Permission.objects.filter(content_type__app_label="wagtailredirects", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_form_submission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("wagtailredirects", "0008_add_verbose_name_plural"),
    ]

    operations = [migrations.RunPython(editors_manage_redirects, editors_stop_managing_redirects)]
