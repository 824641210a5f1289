from tests.device_api.conftest import API


def test_schema_lists_every_call_with_descriptions(http):
    response = http.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths) >= {f"{API}/registrations", f"{API}/config", f"{API}/check-ins", f"{API}/health"}
    assert set(paths[f"{API}/registrations"]) == {"post"}
    assert set(paths[f"{API}/config"]) == {"get"}
    assert set(paths[f"{API}/check-ins"]) == {"post"}
    for path in paths.values():
        for operation in path.values():
            assert operation["summary"]
            assert operation["description"]
    registration = paths[f"{API}/registrations"]["post"]
    assert {"201", "400", "409", "410", "429"} <= set(registration["responses"])
    assert "security" not in registration
    assert paths[f"{API}/config"]["get"]["security"] == [{"DeviceBearer": []}]
    assert schema["components"]["securitySchemes"]["DeviceBearer"] == {"type": "http", "scheme": "bearer"}
    for name, component in schema["components"]["schemas"].items():
        for field, spec in component.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"


def test_docs_page_is_served(http):
    response = http.get(f"{API}/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/device/v1/openapi.json" in response.content


def test_health_is_bare(http, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = http.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json() == {}
