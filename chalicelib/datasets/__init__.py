"""Dataset service: contracts and dataset versions in DynamoDB, uploads processed into curated data.

``store`` holds the interface other features use (:func:`get_contract`, :func:`latest_passing_version`,
:func:`get_version`); ``service.process_object`` runs one upload end to end.
"""

from chalicelib.datasets.store import get_contract, get_version, latest_passing_version
from chalicelib.datasets.types import DatasetVersion, StoredContract

__all__ = ["DatasetVersion", "StoredContract", "get_contract", "get_version", "latest_passing_version"]
