"""The embedded default: the whole of sluice on one machine, moto standing in for AWS."""

from sluice.local.stack import LocalStack, StackInfo

__all__ = ["LocalStack", "StackInfo"]
