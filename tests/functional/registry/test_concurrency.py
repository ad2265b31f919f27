"""The registry's race tests (tests/unit/registry/test_concurrency.py) against the DynamoDB store in moto,
one DynamoDB request at a time (see ``serialize_moto_requests``): the races stay about sluice's logic."""

from __future__ import annotations

import pytest

from tests.functional.registry.conftest import dynamodb_client, serialize_moto_requests
from tests.unit.registry.test_concurrency import (  # noqa: F401  collected here again, on DynamoDB
    test_a_rejection_read_before_an_alias_move_to_the_version_is_refused,
    test_concurrent_moves_from_the_same_expected_value_have_exactly_one_winner,
    test_concurrent_moves_that_do_not_care_all_land_as_one_unbroken_chain,
    test_fifty_concurrent_registrations_get_fifty_distinct_versions,
)


@pytest.fixture
def racing_registry(registry):
    serialize_moto_requests(dynamodb_client())
    return registry
