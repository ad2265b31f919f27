"""Bringing an externally trained scikit-learn model into the registry: the request, the trusted types a
skops file may name, MLflow model directories and the archive they travel in (pure: no AWS, no I/O)."""
