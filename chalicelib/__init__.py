"""sluice's Lambda code: everything app.py wires to a trigger lives here."""

__version__ = "0.1.0"
