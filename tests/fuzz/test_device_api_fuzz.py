"""
The device API fuzzed from its own OpenAPI schema (GET /openapi.json).

For every operation the schema lists, Hypothesis sends bodies that the
schema accepts (``from_schema``: strategies built from the schema's JSON
Schema, for the keywords it uses), the same bodies with one text or
number replaced by an attacker's value (control characters, lone surrogates,
bidi and zero-width characters, 30-digit numbers), arbitrary JSON and bytes
that are not JSON; without a credential, with a wrong one and with a valid
one. Whatever it sends: no 5xx, every error body is exactly
``{"error": str, "detail": str}``, and every success matches the schema's
response.
"""

import json
from collections import Counter
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.devices.codes import code_format
from backoffice.tenancy.scoping import company_scope
from tests.device_api.conftest import API, make_pending
from tests.factories import ClientFactory
from tests.fuzz.strategies import NASTY_CHARACTERS, any_value, fuzz_settings, nasty_text, number_text

EXAMPLES_PER_OPERATION = 80
# Requests sent per operation, for the report printed at the end (pytest -s).
SENT: Counter[str] = Counter()
# Answers per operation and status, likewise.
STATUS: Counter[tuple[str, int]] = Counter()

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), nasty_text)
arbitrary_json = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(nasty_text, children, max_size=4),
    max_leaves=8,
)
not_json = st.sampled_from([b"", b"{", b"\x00", b"\xff\xfe", b'{"a":1}{', b"[" * 500, b"nul", b'"\\ud800"'])


@pytest.fixture
def openapi(http) -> dict[str, Any]:
    response = http.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in sorted(schema["paths"].items())
        for method, operation in sorted(methods.items())
    ]


def bounded_text(min_size: int, max_size: int | None) -> st.SearchStrategy[str]:
    """Texts of a length the schema accepts, often made of the characters the text rules are about."""
    readable = st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=min_size, max_size=max_size)
    # Readable texts weigh half, so that many bodies get past validation into the services.
    texts = st.one_of(readable, readable, st.text(max_size=max_size), st.sampled_from(NASTY_CHARACTERS), nasty_text)
    return texts.map(lambda text: text[:max_size]).filter(lambda text: len(text) >= min_size)


def from_schema(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """
    Values valid under ``schema``, for the JSON Schema keywords Ninja's schemas
    use ($ref, object, string, integer, boolean, enum, anyOf); an unknown
    keyword fails the test, so a schema change cannot silently shrink the fuzzing.
    """
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return from_schema(components["schemas"][name], components)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(option, components) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        assert schema.get("additionalProperties") is False, schema
        return st.fixed_dictionaries(
            {name: from_schema(sub, components) for name, sub in properties.items() if name in required},
            optional={name: from_schema(sub, components) for name, sub in properties.items() if name not in required},
        )
    if kind == "string":
        assert set(schema) <= {"type", "minLength", "maxLength", "title", "description", "format"}, schema
        assert "format" not in schema, schema
        return bounded_text(schema.get("minLength", 0), schema.get("maxLength"))
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    raise AssertionError(f"from_schema does not know {schema}")


def _with_components(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "components": components}


def _replace_one(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one leaf (a text or a number) replaced by an attacker's value."""
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: _replace_one(draw, value[key])}
    if isinstance(value, str):
        return draw(st.one_of(nasty_text, any_value))
    if isinstance(value, bool) or value is None:
        return draw(json_leaf)
    if isinstance(value, int):
        return draw(st.one_of(number_text, st.integers(min_value=-(2**70), max_value=2**70)))
    return draw(arbitrary_json)


@st.composite
def request_body(draw: st.DrawFn, body_schema: dict[str, Any] | None, components: dict[str, Any]) -> bytes | None:
    if body_schema is None:
        return draw(st.one_of(st.none(), not_json))
    valid = from_schema(body_schema, components)
    kind = draw(st.sampled_from(["valid", "mutated", "arbitrary", "not_json"]))
    if kind == "not_json":
        return draw(not_json)
    if kind == "arbitrary":
        body = draw(arbitrary_json)
    else:
        body = draw(valid)
        if kind == "mutated":
            body = _replace_one(draw, body)
    return json.dumps(body).encode()


def _response_schema(operation: dict[str, Any], status: int, components: dict[str, Any]) -> dict[str, Any] | None:
    content = operation["responses"].get(str(status), {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _with_components(schema, components) if schema else None


def check_answer(response, operation: dict[str, Any], components: dict[str, Any]) -> None:
    STATUS[(operation["operationId"], response.status_code)] += 1
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code == 304:
        return
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert set(body) == {"error", "detail"}, body
        assert isinstance(body["error"], str)
        assert isinstance(body["detail"], str)
        return
    schema = _response_schema(operation, response.status_code, components)
    assert schema is not None, f"{response.status_code} is not in the schema"
    jsonschema.validate(body, schema)


@pytest.fixture
def live_codes(company_a, team_a):
    """Live registration codes, for some registrations to succeed (each code works once)."""
    return [code_format(make_pending(company_a, team_a, nickname=f"Fuzz {i}").code) for i in range(5)]


@pytest.fixture
def client_ids(company_a):
    """Clients the registered device may choose (the Clients tab's default is every client)."""
    with company_scope(company_a):
        return [ClientFactory(company=company_a).pk for _ in range(2)]


@pytest.mark.parametrize("credential", ["none", "wrong", "valid"])
def test_device_api_from_its_openapi_schema(
    credential, http, openapi, registered, live_codes, client_ids, settings
) -> None:
    # Failed redemptions must not turn every later example into 429 rate_limited.
    settings.REGISTRATION_FAILED_PER_ADDRESS = 10**9
    components = openapi["components"]
    headers: dict[str, str] = {}
    if credential == "valid":
        headers["Authorization"] = f"Bearer {registered.credential}"
    elif credential == "wrong":
        headers["Authorization"] = "Bearer " + "A" * 43

    for method, path, operation in operations(openapi):
        fuzz_operation(http, method, path, operation, components, headers, live_codes, client_ids)()


def fuzz_operation(http, method, path, operation, components, headers, live_codes, client_ids):
    """The Hypothesis test of one operation, to be called."""
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")

    @fuzz_settings(EXAMPLES_PER_OPERATION)
    @given(
        body=request_body(body_schema, components),
        code=st.sampled_from([None, *live_codes]),
        client_id=st.sampled_from([None, *client_ids]),
        etag=st.one_of(st.none(), nasty_text, st.just("*")),
    )
    def send(body, code, client_id, etag) -> None:
        if body is not None and (code or client_id):
            # Steer some schema-valid bodies past the code and client checks, into the services.
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and code and "code" in data:
                data["code"] = code
            if isinstance(data, dict) and client_id and "client_id" in data:
                data["client_id"] = client_id
            if isinstance(data, dict):
                body = json.dumps(data).encode()
        extra = dict(headers)
        if etag is not None:
            extra["If-None-Match"] = etag
        SENT[f"{method} {path}"] += 1
        if method == "GET":
            response = http.get(path, headers=extra)
        else:
            response = http.generic(method, path, data=body or b"", content_type="application/json", headers=extra)
        check_answer(response, operation, components)

    return send


@fuzz_settings(60)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    path=st.one_of(
        st.sampled_from(["/health", "/registrations", "/config", "/check-ins", "/documents", "/docs", ""]),
        nasty_text.map(lambda text: "/" + text.replace("\n", "").replace("\r", "")),
    ),
)
def test_device_api_unknown_paths_and_methods(http, method, path) -> None:
    """Any method on any path: no 5xx, and an error is in the API's JSON shape."""
    SENT["any method, any path"] += 1
    try:
        response = http.generic(method, API + path)
    except UnicodeEncodeError:
        return  # the test client cannot send a lone surrogate in a path; no real client can either
    assert response.status_code < 500
    if response.status_code >= 400 and path not in ("/docs",):
        body = json.loads(response.content)
        assert set(body) == {"error", "detail"}


def teardown_module() -> None:
    print("\nDevice API fuzz, requests sent per operation:", dict(SENT))  # noqa: T201
    print("Answers per operation and status:", dict(sorted(STATUS.items())))  # noqa: T201
