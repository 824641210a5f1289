"""
Device authentication: the credential a device received at registration,
accepted only in the ``Authorization: Bearer`` header (never in a query string
or a cookie, which end up in logs and browsers).
"""

from django.http import HttpRequest
from ninja.security import HttpBearer

from backoffice.device_api import errors
from backoffice.device_api.selectors import device_for_credential, device_license_is_active
from backoffice.devices.models import Device

# A credential is 43 URL-safe characters; anything much longer is not one and
# is refused without a query.
CREDENTIAL_MAX_LENGTH = 128


class DeviceBearer(HttpBearer):
    """
    Authenticate a registered device by its credential, then check its
    license. Answer 401 ``credential_invalid`` when the credential is missing,
    unknown or revoked, and 403 ``license_inactive`` when the device's license
    is missing, expired or suspended. ``request.auth`` becomes the device, with
    its team, license and company loaded.
    """

    def __call__(self, request: HttpRequest) -> Device:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > CREDENTIAL_MAX_LENGTH:
            raise errors.credential_invalid()
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Device:
        device = device_for_credential(credential=token)
        if device is None:
            raise errors.credential_invalid()
        if not device_license_is_active(device=device):
            raise errors.license_inactive()
        return device
