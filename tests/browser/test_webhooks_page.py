"""The webhooks page in chromium: add an endpoint (a real receiver on 127.0.0.1), see its
secret once, press "Send test", read the delivery in the log, verify its signature."""

from __future__ import annotations

from pathlib import Path

from standardwebhooks import Webhook as Verifier

from tests.browser.test_studio_pages import shot
from tests.service.receiver import receiver


class TestWebhooksPage:
    def test_add_an_endpoint_and_send_a_test(self, page, screenshots: Path):
        with receiver() as sink:
            page.goto("/webhooks")
            page.fill("#webhook-form input[name=url]", sink.url)
            page.click("#webhook-form button")
            secret = page.locator("#new-secret").inner_text()
            assert secret.startswith("whsec_")
            card = page.locator("section", has_text=sink.url)
            card.locator("button.send-test").click()
            page.wait_for_url("**/webhooks#hook-*")
            row = page.locator("section", has_text=sink.url).locator("table.deliveries tbody tr")
            assert "webhook.test" in row.first.inner_text()
            assert "succeeded" in row.first.inner_text() and "200" in row.first.inner_text()
            got = sink.received[0]
            Verifier(secret).verify(got.body, got.headers)
            shot(page, screenshots, "13-webhooks")
            page.goto("/webhooks")
            assert page.locator("#new-secret").count() == 0, "the secret is shown once"

    def test_a_bad_url_is_refused_with_its_field(self, page):
        page.goto("/webhooks")
        page.evaluate("document.querySelector('#webhook-form input[name=url]').type = 'text'")
        page.fill("#webhook-form input[name=url]", "ftp://example.test/x")
        page.click("#webhook-form button")
        assert page.locator("#webhook-error").inner_text().startswith("url:")
