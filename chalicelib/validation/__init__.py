"""DataOps gate: data contracts, validation of uploads, privacy rules, curated data, quarantine.

``contract`` (the model), ``engine`` (``validate_file``) with ``readers``, ``rules``, ``pii`` and
``report``, ``infer`` (contract suggestions) and ``handler`` (the ``on_raw_object`` entry point, which
hands each object to :func:`chalicelib.datasets.service.process_object`). Nothing is imported here:
``import app`` stays light.
"""
