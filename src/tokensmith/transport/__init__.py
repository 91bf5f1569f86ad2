"""HTTP transports: the only layer of tokensmith that touches the network.

A transport has one method, :meth:`Transport.send`. The protocol core never imports a
transport; drivers hand the requests a flow yields to one.
"""

from __future__ import annotations

from tokensmith.transport.base import HttpRequest, HttpResponse, Transport

__all__ = ["HttpRequest", "HttpResponse", "Transport"]
