"""Run the example web app on http://localhost:5000 against your own registration.

    python -m examples.webapp --client-id ID --authority https://login.microsoftonline.com/TENANT \
        --scope User.Read   (the client secret is read from WEBAPP_CLIENT_SECRET)

Register ``http://localhost:5000/callback`` as a web redirect URI of the app.
"""

from __future__ import annotations

import argparse
import os
from wsgiref.simple_server import make_server

import tokensmith as msal
from examples.webapp.app import WebApp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--authority", required=True)
    parser.add_argument("--scope", action="append", default=[])
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    secret = os.environ.get("WEBAPP_CLIENT_SECRET")
    if not secret:
        parser.error("set WEBAPP_CLIENT_SECRET to the app's client secret")
    app = msal.ConfidentialClientApplication(args.client_id, secret, authority=args.authority)
    web = WebApp(app, f"http://localhost:{args.port}/callback", args.scope)
    with app, make_server("127.0.0.1", args.port, web) as server:
        print(f"Open http://localhost:{args.port}/ (Ctrl+C to stop)")
        server.serve_forever()


if __name__ == "__main__":
    main()
