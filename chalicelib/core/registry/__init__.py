"""The model registry's entities (versions, aliases, audit events), errors and store interface."""
