"""Entry points: the trigger table, the Lambda event handlers and the HTTP routes (``http``).

Each handler parses its event or request, makes one call into a service and lets errors reach the one
mapping (:mod:`chalicelib.triggers.http.http`)."""
