"""
The demo data: two companies with teams, employees, clients, licenses and
devices, loaded by ``manage.py load_demo`` (``make demo``).

It sits at the top of the layers (it may import every app) and has no models,
services, selectors, views, urls or templates of its own: it is a loader.
"""
