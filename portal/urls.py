from allauth.account import views as allauth_views
from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from cms_pages import search as search_views
from cms_pages import seo
from portal import health
from portal import views as portal_views
from portal.accounts import views as account_views
from portal.once import once

# The Django admin's login form is replaced by the site's (allauth): rate limits and two-factor
# authentication apply, and a signed-in non-staff user gets 403 instead of a second login form.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("health/live/", health.live, name="health_live"),
    path("health/ready/", health.ready, name="health_ready"),
    path("admin/analytics/", include("mentoring.admin_urls")),
    path("admin/password_change/", RedirectView.as_view(url="/accounts/password/change/")),
    path("admin/", admin.site.urls),
    path("cms/login/", account_views.login_elsewhere, {"default_next": "/cms/"}),
    path("_util/login/", account_views.login_elsewhere),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # Sign-up and password reset sent twice (a double click) create one account and send one email;
    # the repeat signs the browser in or shows the same page as the first (portal/once.py).
    path("accounts/signup/", once(allauth_views.signup), name="account_signup"),
    path("accounts/password/reset/", once(allauth_views.password_reset), name="account_reset_password"),
    path("accounts/logout/", account_views.logout, name="account_logout"),
    path("accounts/", include("allauth.urls")),
    path("profile/", account_views.profile, name="profile"),
    path("search/", search_views.search, name="search"),
    path("sitemap.xml", seo.sitemap_xml, name="sitemap"),
    path("favicon.ico", seo.favicon, name="favicon"),
    path("robots.txt", seo.robots_txt, name="robots_txt"),
    path("", include("signaling.urls")),
    path("", include("mentoring.urls")),
]

if settings.BENCHMARK_ENDPOINTS:
    urlpatterns.insert(0, path("bench/trivial/", portal_views.bench_trivial))

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves everything else: "/" and the page tree.
urlpatterns += [path("", include(wagtail_urls))]

admin.site.site_header = "PeerLearn administration"
admin.site.site_title = "PeerLearn admin"
admin.site.index_title = "Moderation"
