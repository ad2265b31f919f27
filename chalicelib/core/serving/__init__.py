"""Serving's pure parts: request records against a version's feature schema (``schema``), feature frames
(``frame``), pipeline → predictions (``scoring``), per-container caches (``cache``) and ``errors``."""
