from __future__ import annotations

import re

from playwright.sync_api import expect

from conftest import PASSWORD


def log_in(page, base_url: str, email: str) -> None:
    """Log in through the site's own form, as a person would, and land on the dashboard."""
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
