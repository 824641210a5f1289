"""
Device authentication: the credential a device received at registration,
accepted only in the ``Authorization: Bearer`` header (never in a query string
or a cookie, which end up in logs and browsers).
"""

from django.http import HttpRequest
from ninja.security import HttpBearer

from backoffice.device_api import errors
from backoffice.device_api.selectors import device_confirm, device_for_credential, device_license_is_active
from backoffice.devices.models import Device

# A credential is 43 URL-safe characters; anything much longer is not one and
# is refused without a query.
CREDENTIAL_MAX_LENGTH = 128


def bearer_credential(request: HttpRequest) -> str | None:
    """
    The credential of the request's ``Authorization: Bearer <credential>``
    header (the scheme in any case); None for a missing header, another
    scheme, no credential or one over ``CREDENTIAL_MAX_LENGTH``. Read from
    ``request.META``: building ``request.headers`` costs more than the check.
    """
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > CREDENTIAL_MAX_LENGTH:
        return None
    return token


class DeviceBearer(HttpBearer):
    """
    Authenticate a registered device by its credential, then check its
    license. Answer 401 ``credential_invalid`` when the credential is missing,
    unknown or revoked, and 403 ``license_inactive`` when the device's license
    is missing, expired or suspended. ``request.auth`` becomes the device, with
    its team, license and company loaded (with the credential cache on, a
    held copy still to be confirmed: ``device_api.selectors.device_confirm``).
    """

    def __call__(self, request: HttpRequest) -> Device:
        token = bearer_credential(request)
        if token is None:
            raise errors.credential_invalid()
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Device:
        # A held copy comes back unconfirmed: every operation confirms it
        # once its body is validated (api.in_device_company_scope, or the
        # check-in with its write), before it answers or writes anything.
        device = device_for_credential(credential=token, provisional=True)
        if device is None:
            raise errors.credential_invalid()
        if not device_license_is_active(device=device):
            device = device_confirm(device=device)  # the held copy may be behind a license fixed since
            if device is None:
                raise errors.credential_invalid()
            if not device_license_is_active(device=device):
                raise errors.license_inactive()
        return device


def confirmed_device(device: Device) -> Device:
    """
    ``device`` confirmed (``device_api.selectors.device_confirm``): the same
    device, or the one read again for its credential, whose license is then
    checked again. Raise ``credential_invalid`` when the credential is no
    longer live, ``license_inactive`` when the device read again has no
    active license.
    """
    confirmed = device_confirm(device=device)
    if confirmed is None:
        raise errors.credential_invalid()
    if confirmed is not device and not device_license_is_active(device=confirmed):
        raise errors.license_inactive()
    return confirmed
