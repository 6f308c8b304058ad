from django.db import migrations

# Editors draft menus and footer and submit them; Moderators approve (publish) through the same
# "Moderators approval" workflow as pages. Both groups keep the reusable snippets.
CHROME_EDITORS = ("change_sitechrome", "view_sitechrome", "lock_sitechrome", "unlock_sitechrome")
CHROME_MODERATORS = (*CHROME_EDITORS, "publish_sitechrome")
SNIPPETS = ("testimonial", "faq", "person")


def editors_edit_menus_and_snippets(apps, schema_editor):
    """The existing SiteChrome row keeps its content: it becomes the published version as it is
    (live=True, no unpublished changes: the new columns' defaults) with its menu and footer rows."""
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    ContentType = apps.get_model("contenttypes.ContentType")
    Workflow = apps.get_model("wagtailcore.Workflow")
    WorkflowContentType = apps.get_model("wagtailcore.WorkflowContentType")
    editors, _ = Group.objects.get_or_create(name="Editors")
    moderators, _ = Group.objects.get_or_create(name="Moderators")

    def permission(model: str, codename: str):
        content_type, _ = ContentType.objects.get_or_create(app_label="cms_pages", model=model)
        found, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": codename.replace("_", " ")}
        )
        return found

    editors.permissions.add(*(permission("sitechrome", c) for c in CHROME_EDITORS))
    moderators.permissions.add(*(permission("sitechrome", c) for c in CHROME_MODERATORS))
    for model in SNIPPETS:
        perms = [permission(model, f"{action}_{model}") for action in ("add", "change", "delete", "view")]
        editors.permissions.add(*perms)
        moderators.permissions.add(*perms)

    workflow = Workflow.objects.filter(name="Moderators approval", active=True).first()
    if workflow is not None:
        chrome_type, _ = ContentType.objects.get_or_create(app_label="cms_pages", model="sitechrome")
        WorkflowContentType.objects.update_or_create(content_type=chrome_type, defaults={"workflow": workflow})


class Migration(migrations.Migration):
    dependencies = [
        ("cms_pages", "0006_site_chrome_drafts_snippets_form_page"),
        ("cms_pages", "0004_editors_submit_moderators_publish"),
    ]

    operations = [migrations.RunPython(editors_edit_menus_and_snippets, migrations.RunPython.noop)]
