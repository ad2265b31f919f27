"""Orchestration, one module per capability: each sequences core computations with storage calls."""
