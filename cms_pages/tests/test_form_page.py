"""The Contact form page: stored submissions, an email to staff, spam refused, hostile input answered."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from wagtail.contrib.forms.models import FormSubmission

from cms_pages.demo import demo_contact_seed
from cms_pages.forms import HONEYPOT, MULTILINE_MAX, STARTED, form_started_token
from cms_pages.models import FormPage
from cms_pages.selectors import home_page_get

URL = "/contact/"


@pytest.fixture
def contact(db):
    demo_contact_seed(home_page_get())
    return FormPage.objects.get(slug="contact")


def filled(**extra) -> dict:
    data = {
        "your_name": "Ana",
        "your_email": "ana@example.com",
        "message": "When does the next Python group start?",
        HONEYPOT: "",
        STARTED: form_started_token(time.time() - 30),
    }
    data.update(extra)
    return data


def test_contact_form_is_stored_and_mailed_to_staff_then_thanks(client, contact):
    page = client.get(URL)
    assert page.status_code == 200
    html = page.text
    assert 'name="form_started"' in html and f'name="{HONEYPOT}"' in html and 'aria-hidden="true"' in html
    response = client.post(URL, filled())
    assert response.status_code == 200, response.text[:500]
    assert "Thank you, your message is on its way" in response.text
    [submission] = FormSubmission.objects.filter(page=contact)
    assert submission.form_data == {
        "your_name": "Ana",
        "your_email": "ana@example.com",
        "message": "When does the next Python group start?",
    }
    [email] = mail.outbox
    assert email.to == ["staff@peerlearn.local"] and "When does the next Python group start?" in email.body
    assert email.reply_to == ["ana@example.com"]  # staff answer the sender, not the from-address
    assert HONEYPOT not in email.body and "form_started" not in email.body
    print(f"[form] stored: {FormSubmission.objects.count()}, staff emails: {len(mail.outbox)}")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (lambda: {HONEYPOT: "http://spam.example"}, "could not be sent"),
        (lambda: {STARTED: form_started_token()}, "faster than anyone can type"),
        (lambda: {STARTED: "forged"}, "has expired"),
        (lambda: {STARTED: ""}, "has expired"),
    ],
    ids=["honeypot", "too-fast", "forged-time", "no-time"],
)
def test_spam_is_refused_with_a_clear_error_and_nothing_stored(client, contact, data, error):
    response = client.post(URL, filled(**data()))
    assert response.status_code == 400
    assert error in response.text
    assert not FormSubmission.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"message": "x" * (MULTILINE_MAX + 1)}, "at most 5000 characters"),
        ({"your_name": "n" * 300}, "at most 255 characters"),
        ({"your_email": "not an email"}, "valid email"),
        ({"your_email": ["a@example.com", "<script>"]}, "valid email"),
        ({"message": ""}, "This field is required"),
    ],
    ids=["huge-message", "huge-name", "bad-email", "list-of-values", "missing"],
)
def test_hostile_input_is_a_form_error_not_a_500(client, contact, data, error):
    response = client.post(URL, filled(**data))
    assert response.status_code == 400
    assert error in response.text
    assert not FormSubmission.objects.exists()


def test_nul_in_a_field_is_refused_before_anything_is_stored(client, contact):
    response = client.post(URL, filled(message="hello\x00world"))
    assert response.status_code == 400
    assert not FormSubmission.objects.exists()


def test_sends_per_address_are_limited(client, contact, settings):
    settings.FORM_SUBMISSIONS_PER_HOUR = 2
    statuses = [client.post(URL, filled(message=f"Message {i}")).status_code for i in range(3)]
    other = client.post(URL, filled(), REMOTE_ADDR="203.0.113.9")
    refused = client.post(URL, filled())
    assert statuses == [200, 200, 429] and other.status_code == 200
    assert "several times in the last hour" in refused.text
    assert FormSubmission.objects.count() == 3
    print(f"[form] rate limit: {statuses.count(200)} sent, then {statuses.count(429)} refused per address")


def test_the_demo_contact_page_is_seeded_once_and_linked_from_the_footer(client, db):
    from cms_pages.demo import demo_catalog_seed, demo_pages_seed

    demo_pages_seed()
    demo_catalog_seed()
    demo_pages_seed()
    demo_catalog_seed()
    assert FormPage.objects.filter(slug="contact").count() == 1
    html = client.get("/").text
    footer = html[html.index("<footer") :]
    assert 'href="/contact/">Contact</a>' in footer


def test_the_same_form_sent_twice_is_kept_and_mailed_once_and_thanked_both_times(client, contact):
    """A double click, Enter twice or a resend after a slow answer sends the same shown form again."""
    data = filled()
    answers = [client.post(URL, data) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("Thank you, your message is on its way" in a.text for a in answers)
    assert FormSubmission.objects.filter(page=contact).count() == 1 and len(mail.outbox) == 1
    # A form shown afresh is a new message.
    assert client.post(URL, filled(message="And the Go group?")).status_code == 200
    assert FormSubmission.objects.filter(page=contact).count() == 2 and len(mail.outbox) == 2
    print("[form] the same form sent 3 times: stored 1, emailed 1, thanked 3; a fresh one: stored")
