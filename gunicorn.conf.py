"""
Gunicorn settings of the Back Office (read from the repository root by
default, or with ``-c gunicorn.conf.py``).

The access log writes the path without its query string (``%(U)s``, not
the request line ``%(r)s``): nothing a client puts in a query string, such
as a credential or a registration code sent where they do not belong, ever
reaches a log file. The device API refuses both outside their places anyway.
"""

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
