"""Item 2 of issue 9: no keyword is silently ignored. ``fmi_path`` and
``forwarded_client_claims`` are sent, validated and key the cache as in the real MSAL
1.39; a keyword MSAL would reject is rejected, naming it."""

from __future__ import annotations

import json
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.confidential_oracle import (
    AUTHORITY,
    SCOPES,
    RegionalFake,
    StrictFake,
    cache_view,
    result_shape,
    token_form,
)

import tokensmith

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*acquire_token_by_auth_code_flow"),
    pytest.mark.filterwarnings("ignore:Use obtain_token_by_auth_code_flow"),
]

CLAIMS_A = '{"access_token": {"xms_az_claim": {"value": "a"}}}'
CLAIMS_B = '{"access_token": {"xms_az_claim": {"value": "b"}}, "id_token": {"acr": null}}'


def _app(module: Any, fake: RegionalFake, **options: Any) -> Any:
    return module.ConfidentialClientApplication(
        "cid",
        client_credential="s3cret",
        authority=AUTHORITY,
        http_client=fake,
        token_cache=module.SerializableTokenCache(),
        **options,
    )


def _both(**options: Any) -> list[tuple[Any, RegionalFake]]:
    pairs = []
    for module in (msal, tokensmith):
        fake = RegionalFake()
        pairs.append((_app(module, fake, **options), fake))
    return pairs


def _same_calls(calls: list[dict[str, Any]], **options: Any) -> list[tuple[Any, RegionalFake]]:
    """Run the same acquire_token_for_client calls through both; results must agree."""
    pairs = _both(**options)
    for call in calls:
        results = [result_shape(app.acquire_token_for_client(SCOPES, **call)) for app, _ in pairs]
        assert results[0] == results[1], call
    (msal_app, msal_fake), (ts_app, ts_fake) = pairs
    assert [p.data for p in ts_fake.token_posts()] == [p.data for p in msal_fake.token_posts()]
    assert cache_view(ts_app.token_cache.serialize()) == cache_view(
        msal_app.token_cache.serialize()
    )
    return pairs


def test_fmi_path_is_sent_and_caches_per_path() -> None:
    calls: list[dict[str, Any]] = [
        {"fmi_path": "SomeFmiPath/A"},
        {"fmi_path": "SomeFmiPath/B"},
        {"fmi_path": "SomeFmiPath/A"},
        {},
        {"fmi_path": "SomeFmiPath/B"},
    ]
    pairs = _same_calls(calls)
    _, ts_fake = pairs[1]
    forms = [p.data for p in ts_fake.token_posts()]
    assert [f.get("fmi_path") for f in forms] == ["SomeFmiPath/A", "SomeFmiPath/B", None]
    ts_app = pairs[1][0]
    assert ts_app.acquire_token_for_client(SCOPES, fmi_path="SomeFmiPath/A")["access_token"] == (
        "at-1"
    )
    assert ts_app.acquire_token_for_client(SCOPES, fmi_path="SomeFmiPath/B")["access_token"] == (
        "at-2"
    )
    assert ts_app.acquire_token_for_client(SCOPES)["access_token"] == "at-3"
    entries = json.loads(ts_app.token_cache.serialize())["AccessToken"]
    assert sorted("-atext-" in key for key in entries) == [False, True, True]


@pytest.mark.parametrize("bad", [5, b"path", ["a"]])
def test_fmi_path_must_be_a_string(bad: Any) -> None:
    for app, fake in _both():
        with pytest.raises(ValueError, match="fmi_path must be a string"):
            app.acquire_token_for_client(SCOPES, fmi_path=bad)
        assert fake.token_posts() == []


def test_forwarded_claims_go_out_in_claims_and_key_the_cache() -> None:
    calls: list[dict[str, Any]] = [
        {"forwarded_client_claims": CLAIMS_A},
        {"forwarded_client_claims": CLAIMS_A},
        {"forwarded_client_claims": CLAIMS_B},
        {},
        {"forwarded_client_claims": CLAIMS_B, "fmi_path": "p"},
        {"forwarded_client_claims": CLAIMS_B},
    ]
    pairs = _same_calls(calls)
    forms = [p.data for p in pairs[1][1].token_posts()]
    assert len(forms) == 4
    assert all("client_claims" not in form for form in forms)
    assert [json.loads(f["claims"]) if "claims" in f else None for f in forms] == [
        json.loads(CLAIMS_A),
        json.loads(CLAIMS_B),
        None,
        json.loads(CLAIMS_B),
    ]


def test_forwarded_claims_merge_with_capabilities_and_a_challenge() -> None:
    challenge = '{"access_token": {"nbf": {"essential": true, "value": "1"}}}'
    pairs = _both(client_capabilities=["CP1"])
    for app, _ in pairs:
        app.acquire_token_for_client(
            SCOPES, claims_challenge=challenge, forwarded_client_claims=CLAIMS_B
        )
    sent = [json.loads(token_form(fake)["claims"]) for _, fake in pairs]
    assert sent[1] == sent[0]
    assert sent[1]["access_token"]["xms_cc"] == {"values": ["CP1"]}
    assert sent[1]["access_token"]["xms_az_claim"] == {"value": "b"}


@pytest.mark.parametrize("bad", ["{not json", "[1]", "null", {"access_token": {}}, 7])
def test_forwarded_claims_must_be_a_json_object_string(bad: Any) -> None:
    for app, fake in _both():
        calls = (
            lambda a=app: a.acquire_token_for_client(SCOPES, forwarded_client_claims=bad),
            lambda a=app: a.acquire_token_on_behalf_of("x", ["s"], forwarded_client_claims=bad),
            lambda a=app: a.acquire_token_by_authorization_code(
                "code", ["s"], forwarded_client_claims=bad
            ),
        )
        for call in calls:
            with pytest.raises(ValueError) as info:
                call()
            assert str(bad) not in str(info.value) or isinstance(bad, int)
        assert fake.token_posts() == []


def test_on_behalf_of_sends_forwarded_claims_and_caches_under_them() -> None:
    pairs = _both()
    for app, _ in pairs:
        result = app.acquire_token_on_behalf_of(
            "user-assertion", ["api://downstream/read"], forwarded_client_claims=CLAIMS_A
        )
        assert "access_token" in result
    (msal_app, msal_fake), (ts_app, ts_fake) = pairs
    assert token_form(ts_fake) == token_form(msal_fake)
    assert "client_claims" not in token_form(ts_fake)

    def ext_keys(app: Any) -> list[tuple[str, str]]:
        entries = json.loads(app.token_cache.serialize())["AccessToken"]
        return sorted((k, e.get("ext_cache_key", "")) for k, e in entries.items())

    assert ext_keys(ts_app) == ext_keys(msal_app)
    assert all(ext for _, ext in ext_keys(ts_app))
    # tokensmith serves OBO from the cache (on purpose): per claims value.
    again = ts_app.acquire_token_on_behalf_of(
        "user-assertion", ["api://downstream/read"], forwarded_client_claims=CLAIMS_A
    )
    assert again["token_source"] == "cache"
    other = ts_app.acquire_token_on_behalf_of(
        "user-assertion", ["api://downstream/read"], forwarded_client_claims=CLAIMS_B
    )
    assert other["token_source"] == "identity_provider"
    assert json.loads(token_form(ts_fake)["claims"]) == json.loads(CLAIMS_B)


def test_code_redemption_sends_forwarded_claims_and_keys_the_access_token() -> None:
    pairs = _both()
    for app, _ in pairs:
        result = app.acquire_token_by_authorization_code(
            "the-code",
            ["User.Read"],
            redirect_uri="https://app.example/cb",
            forwarded_client_claims=CLAIMS_A,
        )
        assert "access_token" in result, result
    (msal_app, msal_fake), (ts_app, ts_fake) = pairs
    assert token_form(ts_fake) == token_form(msal_fake)
    assert cache_view(ts_app.token_cache.serialize()) == cache_view(
        msal_app.token_cache.serialize()
    )


@pytest.mark.parametrize(
    ("call", "keyword"),
    [
        (lambda app: app.acquire_token_for_client(SCOPES, foo=1), "foo"),
        (lambda app: app.acquire_token_for_client(SCOPES, correlation_id="c"), "correlation_id"),
        (lambda app: app.acquire_token_on_behalf_of("a", ["s"], foo=1), "foo"),
        (lambda app: app.acquire_token_by_authorization_code("c", ["s"], foo=1), "foo"),
    ],
)
def test_a_keyword_msal_rejects_is_rejected_naming_it(call: Any, keyword: str) -> None:
    msal_app = _app(msal, StrictFake())
    with pytest.raises(TypeError):
        call(msal_app)
    fake = StrictFake()
    with pytest.raises(TypeError, match=repr(keyword)):
        call(_app(tokensmith, fake))
    assert fake.token_posts() == []


@pytest.mark.parametrize(
    "keywords", [{"force_refresh": True}, {"auth_scheme": object()}], ids=["force", "pop"]
)
def test_keywords_msal_refuses_on_client_credentials(keywords: dict[str, Any]) -> None:
    for app, _ in _both():
        with pytest.raises(ValueError):
            app.acquire_token_for_client(SCOPES, **keywords)


def test_data_extras_are_sent_and_key_the_cache_as_in_msal() -> None:
    _same_calls([{"data": {"extra_param": "x"}}, {"data": {"extra_param": "x"}}, {}])


def test_silent_calls_find_and_refresh_under_the_forwarded_claims() -> None:
    """A token redeemed with claims A is served silently for A only; without them
    (or with B) the refresh token is redeemed, B merged into its ``claims``."""
    pairs = _both()
    outcomes = []
    for app, _ in pairs:
        app.acquire_token_by_authorization_code(
            "the-code", ["User.Read"], forwarded_client_claims=CLAIMS_A
        )
        account = app.get_accounts()[0]
        steps = [
            app.acquire_token_silent(["User.Read"], account, None, False, None, CLAIMS_A),
            app.acquire_token_silent(["User.Read"], account, forwarded_client_claims=CLAIMS_B),
            app.acquire_token_silent(["User.Read"], account, forwarded_client_claims=CLAIMS_B),
            app.acquire_token_silent(["User.Read"], account),
        ]
        outcomes.append(
            [
                (r["access_token"], r["token_source"]) if r else None  # type: ignore[index]
                for r in steps
            ]
        )
    assert outcomes[1] == outcomes[0]
    assert [source for _, source in outcomes[1]] == [
        "cache",
        "identity_provider",
        "cache",
        "identity_provider",
    ]
    forms = [[p.data for p in fake.token_posts()] for _, fake in pairs]
    assert forms[1] == forms[0]
    refresh_claims = [f.get("claims") for f in forms[1][1:]]
    assert [json.loads(c) if c else None for c in refresh_claims] == [json.loads(CLAIMS_B), None]
    with pytest.raises(ValueError):
        pairs[1][0].acquire_token_silent(["s"], account, forwarded_client_claims="[1]")


def test_an_assertion_callable_is_told_the_fmi_path() -> None:
    contexts: dict[str, list[dict[str, str]]] = {"msal": [], "tokensmith": []}
    for module in (msal, tokensmith):
        seen = contexts[module.__name__]

        def assertion(context: dict[str, str], seen: list[dict[str, str]] = seen) -> str:
            seen.append(dict(context))
            return "header.payload.signature"

        app = module.ConfidentialClientApplication(
            "cid",
            client_credential={"client_assertion": assertion},
            authority=AUTHORITY,
            http_client=RegionalFake(),
        )
        app.acquire_token_for_client(SCOPES, fmi_path="SomeFmiPath/A")
        app.acquire_token_for_client(["api://other/.default"])
    assert contexts["tokensmith"] == contexts["msal"]
    assert [c.get("fmi_path") for c in contexts["tokensmith"]] == ["SomeFmiPath/A", None]


@pytest.mark.parametrize(
    "data",
    [{"token_type": "ssh-cert"}, {"token_type": "ssh-cert", "req_cnf": "{}"}],
    ids=["no req_cnf", "no key_id"],
)
def test_an_ssh_certificate_request_needs_its_key_as_in_msal(data: dict[str, str]) -> None:
    for app, fake in _both():
        with pytest.raises(ValueError, match="SSH certificate"):
            app.acquire_token_for_client(SCOPES, data=dict(data))
        with pytest.raises(ValueError, match="SSH certificate"):
            app.acquire_token_by_authorization_code("code", ["s"], data=dict(data))
        assert fake.token_posts() == []


def test_an_ssh_certificate_is_sent_and_cached_per_key_as_in_msal() -> None:
    jwk = '{"kty": "RSA", "n": "abc", "e": "AQAB"}'
    ssh = {"token_type": "ssh-cert", "req_cnf": jwk, "key_id": "key-1"}
    _same_calls([{"data": dict(ssh)}, {"data": dict(ssh)}, {"data": dict(ssh, key_id="key-2")}, {}])
