#!/bin/sh
# The BROWSER of the browser tests: Python's webbrowser runs it with the sign-in
# address; it hands the address to the test's headless Chromium through the inbox file
# named by TOKENSMITH_TEST_BROWSER_INBOX (written whole, then renamed into place).
set -eu
inbox="${TOKENSMITH_TEST_BROWSER_INBOX:?TOKENSMITH_TEST_BROWSER_INBOX is not set}"
printf '%s\n' "$1" > "$inbox.part"
mv "$inbox.part" "$inbox"
