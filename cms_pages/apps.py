from django.apps import AppConfig


class CmsPagesConfig(AppConfig):
    name = "cms_pages"
    verbose_name = "Pages"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate
        from wagtail.models import Page
        from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

        from .page_cache import page_cache_clear
        from .sites import site_follow_site_url

        # After every migrate (deploys, `make run`, a test database) Wagtail's default site follows SITE_URL.
        post_migrate.connect(site_follow_site_url, sender=self, dispatch_uid="peerlearn-wagtail-site-follows-site-url")

        for signal in (page_published, page_unpublished, page_slug_changed, post_page_move):
            signal.connect(page_cache_clear, dispatch_uid=f"page_cache_clear_{id(signal)}")
        post_delete.connect(page_cache_clear, sender=Page, dispatch_uid="page_cache_clear_delete")

        from django.db.models.signals import post_save
        from wagtail.images import get_image_model
        from wagtail.models import PageViewRestriction

        from mentoring.models import Skill

        from .models import FAQ, FooterLink, MenuItem, Person, SiteChrome, Testimonial

        # The chrome, and the snippets any page body may show; a page made private or password-protected,
        # a replaced or deleted image (its renditions go), a renamed skill (the catalog's chips and filter):
        # an edit shows on the next anonymous visit.
        watched = (SiteChrome, MenuItem, FooterLink, Testimonial, FAQ, Person)
        for model in (*watched, PageViewRestriction, get_image_model(), Skill):
            post_save.connect(page_cache_clear, sender=model, dispatch_uid=f"page_cache_clear_save_{model.__name__}")
            post_delete.connect(page_cache_clear, sender=model, dispatch_uid=f"page_cache_clear_del_{model.__name__}")
