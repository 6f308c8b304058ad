"""Every absolute link and the site's name come from SITE_URL (issue 13, "Trust"): account emails
said "example.com" (django.contrib.sites' record was never set) and linked to whatever host the
request used; `make run PORT=9000` handed out links to :8000."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from wagtail.models import Site as WagtailSite

from conftest import make_user
from portal.tests.test_settings import run_manage

pytestmark = pytest.mark.django_db

PUBLIC = "https://learn.peerlearn.test"
SIGNUP = {
    "display_name": "Grace Hopper",
    "role": "learner",
    "time_zone": "UTC",
    "password1": "compiler-cobol-1959",
    "password2": "compiler-cobol-1959",
}
LINK = re.compile(r"https?://[^\s\"'<>]+")


def hosts_in(text: str) -> set[str]:
    return {m.group(0).split("/")[2] for m in LINK.finditer(text)}


def test_account_emails_and_site_records_follow_site_url(settings, client):
    settings.SITE_URL = PUBLIC
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    call_command("migrate", verbosity=0)  # nothing to apply; its post_migrate brings the site records along

    current = Site.objects.get_current()
    wagtail = WagtailSite.objects.get(is_default_site=True)
    assert (current.domain, current.name) == ("learn.peerlearn.test", "PeerLearn")
    assert (wagtail.hostname, wagtail.port, wagtail.root_url) == ("learn.peerlearn.test", 443, PUBLIC)

    # The test client's requests say "Host: testserver": links must not follow the request's host.
    make_user("ada@mail.test", "Ada Lovelace")
    client.post("/accounts/signup/", {**SIGNUP, "email": "grace@mail.test"})
    client.post("/accounts/signup/", {**SIGNUP, "email": "ada@mail.test"})  # taken: the owner is told
    client.post("/accounts/password/reset/", {"email": "ada@mail.test"})
    client.post("/accounts/password/reset/", {"email": "nobody@mail.test"})  # unknown: "sign up instead"
    by_subject = {m.subject.removeprefix("[PeerLearn] "): m.body for m in mail.outbox}
    assert set(by_subject) == {
        "Please Confirm Your Email Address",
        "Account Already Exists",
        "Password Reset Email",
        "Unknown Account",
    }
    assert f"{PUBLIC}/accounts/confirm-email/" in by_subject["Please Confirm Your Email Address"]
    assert f"{PUBLIC}/accounts/password/reset/key/" in by_subject["Password Reset Email"]
    assert f"{PUBLIC}/accounts/signup/" in by_subject["Unknown Account"]
    for subject, body in by_subject.items():
        assert "example.com" not in body and "testserver" not in body, (subject, body)
        assert hosts_in(body) == {"learn.peerlearn.test"}, (subject, body)
        assert (
            "Hello from PeerLearn!" in body
            and "learn.peerlearn.test" in body.split("Thank you for using PeerLearn!")[1]
        )

    # The site's other absolute links: robots.txt, the sitemap, canonical URLs.
    robots, sitemap, home = client.get("/robots.txt").text, client.get("/sitemap.xml").text, client.get("/").text
    assert f"Sitemap: {PUBLIC}/sitemap.xml" in robots
    assert f"<loc>{PUBLIC}/</loc>" in sitemap and hosts_in(sitemap) - {"www.sitemaps.org", "www.w3.org"} == {
        "learn.peerlearn.test"
    }
    assert f'<link rel="canonical" href="{PUBLIC}/">' in home
    print(
        f"\n[site] emails and links use {current.domain}: {len(by_subject)} account emails, robots.txt, sitemap, "
        f"canonical URL; example.com 0, request host 0"
    )


def test_a_site_url_with_a_port_reaches_both_site_records(settings, client):
    settings.SITE_URL = "http://127.0.0.1:9000"
    call_command("migrate", verbosity=0)
    wagtail = WagtailSite.objects.get(is_default_site=True)
    assert Site.objects.get_current().domain == "127.0.0.1:9000"
    assert (wagtail.hostname, wagtail.port) == ("127.0.0.1", 9000)
    assert "<loc>http://127.0.0.1:9000/</loc>" in client.get("/sitemap.xml").text


def test_seed_demo_brings_the_site_records_along_too(settings):
    settings.SITE_URL = "http://localhost:8123"
    call_command("seed_demo", stdout=io.StringIO())
    assert Site.objects.get_current().domain == "localhost:8123"
    assert WagtailSite.objects.get(is_default_site=True).port == 8123


@pytest.mark.parametrize(
    ("env", "site_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"HOST": "::", "PORT": "9000"}, "http://[::1]:9000"),
        ({"HOST": "0.0.0.0", "PORT": "9000", "SITE_URL": "https://dev.peerlearn.test/"}, "https://dev.peerlearn.test"),
    ],
    ids=["default", "port", "all-addresses", "ipv6", "site-url-wins"],
)
def test_dev_site_url_follows_make_run_host_and_port(env, site_url):
    """`make run HOST=... PORT=...` exports both to its processes (Makefile); dev settings build SITE_URL from them."""
    code = "from django.conf import settings; print(settings.SITE_URL, settings.WAGTAILADMIN_BASE_URL)"
    result = run_manage(
        "shell", "--no-imports", "-c", code, env={"DJANGO_ENV": "dev", "SITE_URL": "", "HOST": "", "PORT": "", **env}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [site_url, site_url]
