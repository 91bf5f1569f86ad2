"""Debian's headless Chromium, driven by Selenium through Debian's chromedriver.

Nothing is downloaded: the driver and browser paths are given explicitly, so Selenium
Manager is never asked. The browser trusts exactly one extra TLS key, the interop
provider's (``--ignore-certificate-errors-spki-list``), and records network events so
a test can read what a page posted (the authorization response of ``form_post``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO_ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 30.0


def ensure_chromium() -> None:
    """Install chromium and chromium-driver (scripts/browser-deps.sh) when missing."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "browser-deps.sh")], check=True, timeout=900
    )


def spki_pin(url: str, ca_path: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate ``url`` serves (checked
    against ``ca_path`` first)."""
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=str(ca_path))
    with (
        socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    public_key = x509.load_der_x509_certificate(der).public_key()
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def start_chromium(trusted_pin: str, profile_dir: Path) -> Any:
    """A headless Chromium session (selenium ``WebDriver``); the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # we run as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={profile_dir}",
        f"--ignore-certificate-errors-spki-list={trusted_pin}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(STEP_TIMEOUT)
    return driver


def fresh_session(driver: Any) -> None:
    """Forget cookies and recorded network events (a new person at the browser)."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.get("about:blank")
    driver.get_log("performance")


def posted_forms(driver: Any, url_prefix: str) -> list[dict[str, str]]:
    """The form bodies the browser POSTed to addresses starting with ``url_prefix``
    since the last call (from Chromium's performance log)."""
    forms: list[dict[str, str]] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        request = message["params"]["request"]
        if request.get("method") != "POST" or not request.get("url", "").startswith(url_prefix):
            continue
        body = request.get("postData")
        if body is None and request.get("postDataEntries"):
            raw = b"".join(base64.b64decode(e.get("bytes", "")) for e in request["postDataEntries"])
            body = raw.decode("utf-8")
        if body is not None:
            forms.append(dict(parse_qsl(body)))
    return forms


def auto_post_page(action: str, fields: dict[str, str]) -> str:
    """A ``data:`` page that POSTs ``fields`` to ``action`` as soon as it loads: an
    attacker's page (forgery) or a replay of a captured response."""
    inputs = "".join(
        f'<input type="hidden" name="{_attr(k)}" value="{_attr(v)}">' for k, v in fields.items()
    )
    page = (
        f'<html><body><form method="post" action="{_attr(action)}">{inputs}</form>'
        "<script>document.forms[0].submit()</script></body></html>"
    )
    return "data:text/html;base64," + base64.b64encode(page.encode("utf-8")).decode("ascii")


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def person_signs_in(driver: Any, issuer: str, login: str, password: str) -> None:
    """Do what a person does on node-oidc-provider's pages: type the login and the
    password, press Sign-in, press Continue on the consent page; return once the
    browser has left the provider.

    Between two documents Chromium answers with errors such as "Node with given id
    does not belong to the document" (a WebDriverException, not always a
    StaleElementReferenceException): the step is then looked at again on the page
    that is now there, never assumed done or failed."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    provider = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        if not driver.current_url.startswith(provider):
            return
        try:
            prompts = driver.find_elements(By.CSS_SELECTOR, "form input[name=prompt]")
            if not prompts:
                time.sleep(0.1)
                continue
            form = prompts[0].find_element(By.XPATH, "./ancestor::form")
            if prompts[0].get_attribute("value") == "login":
                form.find_element(By.NAME, "login").clear()
                form.find_element(By.NAME, "login").send_keys(login)
                form.find_element(By.NAME, "password").send_keys(password)
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            _wait_until_gone(form)
        except WebDriverException:  # the page changed under the step: look again
            time.sleep(0.05)
            continue
    raise AssertionError(f"still at the provider after {STEP_TIMEOUT} s: {driver.current_url}")


def _wait_until_gone(element: Any) -> None:
    """Wait until ``element``'s document is replaced (any answer but "still here")."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            element.is_enabled()
        except WebDriverException:  # stale, or its node left the document
            return
        time.sleep(0.05)


def wait_for_text(driver: Any, text: str) -> str:
    """Wait until the page's text contains ``text``; return the page text."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + STEP_TIMEOUT
    body = ""
    while time.monotonic() < deadline:
        try:
            body = driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:  # the page is between documents
            body = ""
        if text in body:
            return str(body)
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not shown at {driver.current_url}; page: {body[:300]!r}")
