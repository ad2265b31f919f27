"""The registry's conformance suite (tests/unit/registry/test_conformance.py) against the DynamoDB store
in moto: the class is the same, the ``registry`` fixture of this folder's conftest is DynamoDB's."""

from __future__ import annotations

from chalicelib.services.registry import ModelRegistry
from tests.unit.registry import test_conformance as suite


class TestRegistryConformance(suite.TestRegistryConformance):
    """Every test of the suite, on DynamoDB."""


def test_the_registry_is_cached_per_settings(moto_world):
    from chalicelib.core.settings import get_settings
    from chalicelib.services.registry import get_registry

    assert get_registry() is get_registry(get_settings())
    other = get_registry(get_settings().with_overrides(table="another-table"))
    assert other is not get_registry()
    assert isinstance(get_registry(), ModelRegistry)
