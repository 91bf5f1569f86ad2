"""Entra's ``client_info``: base64url JSON ``{"uid": <object id>, "utid": <home tenant>}``
returned when a request carries ``client_info=1``; MSAL's ``home_account_id`` is
``"<uid>.<utid>"``, and the CCS routing header is ``X-AnchorMailbox: Oid:<uid>@<utid>``.
"""

from __future__ import annotations

from tokensmith._jwt import decode_json_part
from tokensmith.errors import ProtocolError

__all__ = ["anchor_mailbox_from_client_info", "home_account_id_from", "parse_client_info"]


def parse_client_info(value: str) -> tuple[str, str]:
    """Return ``(uid, utid)`` from a ``client_info`` value.

    Raises:
        ProtocolError: not base64url JSON, or ``uid``/``utid`` missing or not
            non-empty strings.
    """
    if not isinstance(value, str) or not value:
        raise ProtocolError("client_info is empty or not a string")
    info = decode_json_part(value, "client_info")
    uid, utid = info.get("uid"), info.get("utid")
    if not isinstance(uid, str) or not uid or not isinstance(utid, str) or not utid:
        raise ProtocolError("client_info lacks a 'uid' or 'utid' string")
    return uid, utid


def home_account_id_from(client_info: str) -> str:
    """Return MSAL's ``home_account_id`` (``"<uid>.<utid>"``) for a ``client_info`` value.

    Raises:
        ProtocolError: as :func:`parse_client_info`.
    """
    uid, utid = parse_client_info(client_info)
    return f"{uid}.{utid}"


def anchor_mailbox_from_client_info(client_info: str) -> str:
    """Return the ``X-AnchorMailbox`` value ``Oid:<uid>@<utid>`` for a ``client_info``.

    Raises:
        ProtocolError: as :func:`parse_client_info`.
    """
    return "Oid:" + home_account_id_from(client_info).replace(".", "@", 1)
