"""sluice's command line and local stack (not shipped to Lambda; the Lambda code is chalicelib)."""

from chalicelib import __version__

__all__ = ["__version__"]
