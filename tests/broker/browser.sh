#!/bin/sh
# BROWSER of the broker tests: completes the dev IdP's sign-in in the background (so
# the caller's webbrowser.open returns at once, as with a real browser).
cd "$TOKENSMITH_TEST_ROOT" || exit 1
"$TOKENSMITH_TEST_PYTHON" -m tests.broker.person "$1" >>"$TOKENSMITH_TEST_BROWSER_LOG.out" 2>&1 &
