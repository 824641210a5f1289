"""The device API's and the Device dialog's fixtures, for the tests of this folder."""

from tests.device_api.conftest import _fresh_rate_limits, http, pending, registered
from tests.devices.conftest import licenses_a

__all__ = ["_fresh_rate_limits", "http", "licenses_a", "pending", "registered"]
