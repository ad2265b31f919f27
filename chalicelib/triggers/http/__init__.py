"""HTTP API: one Blueprint per feature; app.py registers them and converts errors once."""
