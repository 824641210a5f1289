"""
The device API (``/api/device/v1/``) the ReconPro app calls.

Files: ``api.py`` (the Ninja endpoints, in the place of ``views.py``),
``urls.py``, ``auth.py`` (the bearer credential), ``schemas.py``,
``errors.py``, ``services.py`` (rate limits and check-in coalescing around
the devices' own services) and ``selectors.py`` (the credential look-up and
the configuration's ETag). No models, forms or templates: it stores nothing
of its own, and its documentation is the OpenAPI schema it serves.
"""
