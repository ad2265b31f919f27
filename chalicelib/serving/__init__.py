"""Serving: real-time predictions over HTTP, batch predictions from S3, data capture, shadow scoring.

Modules: ``schema`` (pure: request records against a version's feature schema), ``frame`` (feature
frames and their dtypes), ``scoring`` (pipeline → predictions/probabilities), ``cache`` (per-container
LRU and TTL caches), ``capture`` (sampled JSONL capture), ``service`` (the real-time path), ``batch``
(``batch/{model}/input/`` → ``batch/{model}/output/``), ``errors``. Heavy libraries load inside functions.
"""

__all__ = ["batch", "cache", "capture", "errors", "frame", "schema", "scoring", "service"]
