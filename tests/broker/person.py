"""The BROWSER of the broker tests, in Python: signs in at the dev IdP with an HTTP
client (no browser) and delivers the answer to the loopback redirect, as a browser
would. ``browser.sh`` runs it in the background with the sign-in address; every run
appends the address to the file named by TOKENSMITH_TEST_BROWSER_LOG."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from tests.devidp._person import http_client, sign_in


def main(url: str) -> None:
    log = Path(os.environ["TOKENSMITH_TEST_BROWSER_LOG"])
    with log.open("a", encoding="utf-8") as f:
        f.write(url + "\n")
    user = os.environ.get("TOKENSMITH_TEST_USER", "ada@contoso.onmicrosoft.com")
    with http_client(Path(os.environ["TOKENSMITH_TEST_CA"])) as client:
        answer = sign_in(client, url, user, "Passw0rd!")
    with httpx.Client() as loopback:  # the app's loopback listener (http, 127.0.0.1)
        if answer.method == "POST":
            loopback.post(answer.url, data=answer.params)
        else:
            loopback.get(answer.url)


if __name__ == "__main__":
    main(sys.argv[1])
