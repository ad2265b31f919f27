"""These tests start their own stack (or ``sluice up``) per test, after the suite's fake credentials
are set, so they keep the suite's ``aws_credentials`` that tests/e2e/conftest.py turns off for the
module-wide stacks."""

from tests.conftest import aws_credentials  # noqa: F401  (a fixture: found by name)
