"""``HttpRequest(content=..., retry_on_status=False)``: a raw body reaches the server as
sent (httpx and MSAL-style ``http_client`` alike), and a request whose repetition has
consequences is neither retried on its HTTP answer nor replayed by the throttle."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tokensmith._clock import FakeClock
from tokensmith.errors import TransportError
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.http_client_adapter import HttpClientTransport
from tokensmith.transport.httpx_transport import HttpxTransport
from tokensmith.transport.mock import MockTransport
from tokensmith.transport.resilient import ResilientTransport
from tokensmith.transport.retry import RetryPolicy
from tokensmith.transport.throttle import Throttle

BODY = "<s:Envelope xmlns:s='urn:s'>é &amp; ü</s:Envelope>"
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


def _request(**kwargs: Any) -> HttpRequest:
    return HttpRequest("POST", "https://sts.example/trust", headers=SOAP, content=BODY, **kwargs)


def test_httpx_sends_the_content_as_utf8_with_its_content_type() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    transport = HttpxTransport(client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert transport.send(_request()).text == "ok"
    transport.close()
    assert seen[0].content == BODY.encode("utf-8")
    assert seen[0].headers["content-type"] == SOAP["Content-Type"]


def test_an_msal_style_http_client_gets_the_body_as_data_str() -> None:
    calls: list[dict[str, Any]] = []

    class Client:
        def get(self, url: str, **kwargs: Any) -> Any:
            raise AssertionError("no GET expected")

        def post(self, url: str, **kwargs: Any) -> Any:
            calls.append(kwargs)
            return HttpResponse(200, "ok", {})

    HttpClientTransport(Client()).send(_request())
    assert calls[0]["data"] == BODY  # what MSAL passes for its WS-Trust request
    assert calls[0]["headers"] == SOAP


def _resilient(inner: MockTransport, throttle: Throttle) -> ResilientTransport:
    clock = FakeClock()
    retry = RetryPolicy(jitter=lambda: 0.0, clock=clock)
    return ResilientTransport(inner, retry=retry, throttle=throttle, sleep=clock.sleep)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_no_retry_and_no_replay_when_retry_on_status_is_false(status: int) -> None:
    answers = [HttpResponse(status, "fault", {}), HttpResponse(200, "token", {})]
    inner = MockTransport(lambda request: answers.pop(0))
    throttle = Throttle(FakeClock(), default_retry_after=60.0)
    transport = _resilient(inner, throttle)
    assert transport.send(_request(retry_on_status=False)).status_code == status
    assert len(inner.requests) == 1 and len(throttle) == 0
    assert transport.send(_request(retry_on_status=False)).text == "token"  # not replayed


def test_the_same_request_with_retries_is_retried_and_throttled() -> None:
    inner = MockTransport(lambda request: HttpResponse(500, "fault", {}))
    throttle = Throttle(FakeClock(), default_retry_after=60.0)
    _resilient(inner, throttle).send(_request())
    assert len(inner.requests) == 3 and len(throttle) == 1


def test_no_answer_at_all_is_still_retried() -> None:
    answers: list[Any] = [TransportError("reset"), HttpResponse(200, "token", {})]

    def handler(request: HttpRequest) -> HttpResponse:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    inner = MockTransport(handler)
    throttle = Throttle(FakeClock(), default_retry_after=60.0)
    assert _resilient(inner, throttle).send(_request(retry_on_status=False)).text == "token"
    assert len(inner.requests) == 2
