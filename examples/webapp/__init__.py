"""A small web app that signs its users in with the authorization code flow.

Plain WSGI on the standard library (:mod:`wsgiref`), no framework: see ``app.py`` for
the four routes and ``python -m examples.webapp --help`` to run it.
"""
