"""The body's image block becomes Wagtail's own ImageBlock (alt text, or the image marked decorative)
beside the caption it had. Stored bodies and their revisions are converted both ways:

    {"image": 7, "alt_text": "A mentor", "caption": "Pairing"}
    {"image": {"image": 7, "alt_text": "A mentor", "decorative": false}, "caption": "Pairing"}

Going back, a decorative image (which has no alt text) keeps an empty one.
"""

import wagtail.fields
from django.db import migrations
from wagtail.blocks.migrations.migrate_operation import MigrateStreamData
from wagtail.blocks.migrations.operations import BaseBlockOperation

PAGE_MODELS = ("homepage", "standardpage", "coursepage")


class ImageToImageBlock(BaseBlockOperation):
    def apply(self, block_value):
        if isinstance(block_value.get("image"), dict):
            return block_value  # already converted
        image = {"image": block_value.get("image"), "alt_text": block_value.get("alt_text") or "", "decorative": False}
        return {"image": image, "caption": block_value.get("caption") or ""}

    @property
    def operation_name_fragment(self):
        return "image_to_image_block"


class ImageBlockToImage(BaseBlockOperation):
    def apply(self, block_value):
        image = block_value.get("image")
        if not isinstance(image, dict):
            return block_value  # still the old shape
        alt_text = "" if image.get("decorative") else image.get("alt_text") or ""
        return {"image": image.get("image"), "alt_text": alt_text, "caption": block_value.get("caption") or ""}

    @property
    def operation_name_fragment(self):
        return "image_block_to_image"


def bodies_convert(operation):
    def convert(apps, schema_editor):
        for model_name in PAGE_MODELS:
            MigrateStreamData(
                app_name="cms_pages", model_name=model_name, field_name="body",
                operations_and_block_paths=[(operation, "image")],
            ).migrate_stream_data_forward(apps, schema_editor)

    return convert


class Migration(migrations.Migration):

    dependencies = [
        ('cms_pages', '0004_editors_submit_moderators_publish'),
    ]

    operations = [
        migrations.AlterField(
            model_name='coursepage',
            name='body',
            field=wagtail.fields.StreamField([('heading', 2), ('paragraph', 3), ('image', 6), ('quote', 9), ('call_to_action', 14), ('course_sessions', 19)], blank=True, block_lookup={0: ('wagtail.blocks.CharBlock', (), {'max_length': 120}), 1: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('h2', 'Section heading'), ('h3', 'Sub-heading')]}), 2: ('wagtail.blocks.StructBlock', [[('text', 0), ('size', 1)]], {}), 3: ('wagtail.blocks.RichTextBlock', (), {'description': 'Text with simple formatting', 'features': ['bold', 'italic', 'link', 'ol', 'ul', 'h3', 'h4'], 'icon': 'pilcrow', 'preview_value': '<p>PeerLearn pairs you with mentors who <b>teach by doing</b>.</p>', 'template': 'cms_pages/blocks/paragraph_block.html'}), 4: ('wagtail.images.blocks.ImageBlock', [], {}), 5: ('wagtail.blocks.CharBlock', (), {'max_length': 200, 'required': False}), 6: ('wagtail.blocks.StructBlock', [[('image', 4), ('caption', 5)]], {}), 7: ('wagtail.blocks.TextBlock', (), {'max_length': 600}), 8: ('wagtail.blocks.CharBlock', (), {'max_length': 120, 'required': False}), 9: ('wagtail.blocks.StructBlock', [[('text', 7), ('attribution', 8)]], {}), 10: ('wagtail.blocks.TextBlock', (), {'max_length': 400, 'required': False}), 11: ('wagtail.blocks.CharBlock', (), {'max_length': 40}), 12: ('wagtail.blocks.PageChooserBlock', (), {'help_text': 'Link to a page of this site, or', 'required': False}), 13: ('wagtail.blocks.CharBlock', (), {'help_text': 'a path such as /accounts/signup/ or a full https:// address.', 'max_length': 300, 'required': False}), 14: ('wagtail.blocks.StructBlock', [[('heading', 0), ('text', 10), ('button_label', 11), ('button_page', 12), ('button_url', 13)]], {}), 15: ('wagtail.blocks.CharBlock', (), {'default': 'Sessions for this course', 'max_length': 120}), 16: ('cms_pages.choosers.SessionChooserBlock', (), {}), 17: ('wagtail.blocks.ListBlock', (16,), {'help_text': 'Shown first, in this order.', 'label': 'Pinned sessions', 'required': False}), 18: ('wagtail.blocks.BooleanBlock', (), {'default': True, 'help_text': "Also list upcoming sessions that teach this course's skills.", 'required': False}), 19: ('wagtail.blocks.StructBlock', [[('heading', 15), ('pinned', 17), ('include_matching', 18)]], {})}),
        ),
        migrations.AlterField(
            model_name='homepage',
            name='body',
            field=wagtail.fields.StreamField([('heading', 2), ('paragraph', 3), ('image', 6), ('quote', 9), ('call_to_action', 14), ('course_sessions', 19)], blank=True, block_lookup={0: ('wagtail.blocks.CharBlock', (), {'max_length': 120}), 1: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('h2', 'Section heading'), ('h3', 'Sub-heading')]}), 2: ('wagtail.blocks.StructBlock', [[('text', 0), ('size', 1)]], {}), 3: ('wagtail.blocks.RichTextBlock', (), {'description': 'Text with simple formatting', 'features': ['bold', 'italic', 'link', 'ol', 'ul', 'h3', 'h4'], 'icon': 'pilcrow', 'preview_value': '<p>PeerLearn pairs you with mentors who <b>teach by doing</b>.</p>', 'template': 'cms_pages/blocks/paragraph_block.html'}), 4: ('wagtail.images.blocks.ImageBlock', [], {}), 5: ('wagtail.blocks.CharBlock', (), {'max_length': 200, 'required': False}), 6: ('wagtail.blocks.StructBlock', [[('image', 4), ('caption', 5)]], {}), 7: ('wagtail.blocks.TextBlock', (), {'max_length': 600}), 8: ('wagtail.blocks.CharBlock', (), {'max_length': 120, 'required': False}), 9: ('wagtail.blocks.StructBlock', [[('text', 7), ('attribution', 8)]], {}), 10: ('wagtail.blocks.TextBlock', (), {'max_length': 400, 'required': False}), 11: ('wagtail.blocks.CharBlock', (), {'max_length': 40}), 12: ('wagtail.blocks.PageChooserBlock', (), {'help_text': 'Link to a page of this site, or', 'required': False}), 13: ('wagtail.blocks.CharBlock', (), {'help_text': 'a path such as /accounts/signup/ or a full https:// address.', 'max_length': 300, 'required': False}), 14: ('wagtail.blocks.StructBlock', [[('heading', 0), ('text', 10), ('button_label', 11), ('button_page', 12), ('button_url', 13)]], {}), 15: ('wagtail.blocks.CharBlock', (), {'default': 'Sessions for this course', 'max_length': 120}), 16: ('cms_pages.choosers.SessionChooserBlock', (), {}), 17: ('wagtail.blocks.ListBlock', (16,), {'help_text': 'Shown first, in this order.', 'label': 'Pinned sessions', 'required': False}), 18: ('wagtail.blocks.BooleanBlock', (), {'default': True, 'help_text': "Also list upcoming sessions that teach this course's skills.", 'required': False}), 19: ('wagtail.blocks.StructBlock', [[('heading', 15), ('pinned', 17), ('include_matching', 18)]], {})}),
        ),
        migrations.AlterField(
            model_name='standardpage',
            name='body',
            field=wagtail.fields.StreamField([('heading', 2), ('paragraph', 3), ('image', 6), ('quote', 9), ('call_to_action', 14), ('course_sessions', 19)], blank=True, block_lookup={0: ('wagtail.blocks.CharBlock', (), {'max_length': 120}), 1: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('h2', 'Section heading'), ('h3', 'Sub-heading')]}), 2: ('wagtail.blocks.StructBlock', [[('text', 0), ('size', 1)]], {}), 3: ('wagtail.blocks.RichTextBlock', (), {'description': 'Text with simple formatting', 'features': ['bold', 'italic', 'link', 'ol', 'ul', 'h3', 'h4'], 'icon': 'pilcrow', 'preview_value': '<p>PeerLearn pairs you with mentors who <b>teach by doing</b>.</p>', 'template': 'cms_pages/blocks/paragraph_block.html'}), 4: ('wagtail.images.blocks.ImageBlock', [], {}), 5: ('wagtail.blocks.CharBlock', (), {'max_length': 200, 'required': False}), 6: ('wagtail.blocks.StructBlock', [[('image', 4), ('caption', 5)]], {}), 7: ('wagtail.blocks.TextBlock', (), {'max_length': 600}), 8: ('wagtail.blocks.CharBlock', (), {'max_length': 120, 'required': False}), 9: ('wagtail.blocks.StructBlock', [[('text', 7), ('attribution', 8)]], {}), 10: ('wagtail.blocks.TextBlock', (), {'max_length': 400, 'required': False}), 11: ('wagtail.blocks.CharBlock', (), {'max_length': 40}), 12: ('wagtail.blocks.PageChooserBlock', (), {'help_text': 'Link to a page of this site, or', 'required': False}), 13: ('wagtail.blocks.CharBlock', (), {'help_text': 'a path such as /accounts/signup/ or a full https:// address.', 'max_length': 300, 'required': False}), 14: ('wagtail.blocks.StructBlock', [[('heading', 0), ('text', 10), ('button_label', 11), ('button_page', 12), ('button_url', 13)]], {}), 15: ('wagtail.blocks.CharBlock', (), {'default': 'Sessions for this course', 'max_length': 120}), 16: ('cms_pages.choosers.SessionChooserBlock', (), {}), 17: ('wagtail.blocks.ListBlock', (16,), {'help_text': 'Shown first, in this order.', 'label': 'Pinned sessions', 'required': False}), 18: ('wagtail.blocks.BooleanBlock', (), {'default': True, 'help_text': "Also list upcoming sessions that teach this course's skills.", 'required': False}), 19: ('wagtail.blocks.StructBlock', [[('heading', 15), ('pinned', 17), ('include_matching', 18)]], {})}),
        ),
        migrations.RunPython(bodies_convert(ImageToImageBlock()), bodies_convert(ImageBlockToImage())),
    ]
