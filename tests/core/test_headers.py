"""Security headers on every page: a strict Content-Security-Policy."""

from django.test import Client


def test_pages_send_a_strict_content_security_policy(as_admin_a):
    for url in ("/login/", "/devices/", "/api/device/v1/docs"):
        response = (Client() if url == "/login/" else as_admin_a).get(url)
        assert response.status_code == 200, url
        policy = dict(
            part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
        )
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response["Content-Security-Policy"]
