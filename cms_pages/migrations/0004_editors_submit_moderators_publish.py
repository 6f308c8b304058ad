from django.db import migrations


def editors_submit_moderators_publish(apps, schema_editor):
    """Editors edit and submit; only Moderators publish (through the "Moderators approval" workflow)."""
    Group = apps.get_model("auth.Group")
    Permission = apps.get_model("auth.Permission")
    GroupPagePermission = apps.get_model("wagtailcore.GroupPagePermission")
    Page = apps.get_model("wagtailcore.Page")
    Workflow = apps.get_model("wagtailcore.Workflow")
    WorkflowPage = apps.get_model("wagtailcore.WorkflowPage")
    WorkflowTask = apps.get_model("wagtailcore.WorkflowTask")
    GroupApprovalTask = apps.get_model("wagtailcore.GroupApprovalTask")
    ContentType = apps.get_model("contenttypes.ContentType")

    root = Page.objects.get(depth=1)
    editors, _ = Group.objects.get_or_create(name="Editors")
    moderators, _ = Group.objects.get_or_create(name="Moderators")
    GroupPagePermission.objects.filter(group=editors, permission__codename="publish_page").delete()
    page_type = ContentType.objects.get(app_label="wagtailcore", model="page")
    for codename in ("add_page", "change_page", "publish_page"):
        permission, _ = Permission.objects.get_or_create(content_type=page_type, codename=codename, defaults={"name": codename})
        GroupPagePermission.objects.get_or_create(group=moderators, page=root, permission=permission)

    if not WorkflowPage.objects.filter(page=root).exists():
        task_type, _ = ContentType.objects.get_or_create(app_label="wagtailcore", model="groupapprovaltask")
        workflow_type, _ = ContentType.objects.get_or_create(app_label="wagtailcore", model="workflow")
        task = GroupApprovalTask.objects.create(name="Moderators approval", content_type=task_type, active=True)
        task.groups.set([moderators])
        workflow = Workflow.objects.create(name="Moderators approval", active=True)
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
        WorkflowPage.objects.create(workflow=workflow, page=root)


class Migration(migrations.Migration):
    dependencies = [
        ("cms_pages", "0003_courseindexpage_alter_homepage_body_and_more"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(editors_submit_moderators_publish, migrations.RunPython.noop)]
