"""The read-only dashboard at ``GET /``: one self-contained page rendered on the server."""
