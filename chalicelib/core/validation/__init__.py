"""The DataOps gate's pure parts: the data contract, the validation engine (``validate_file``) with its
readers, rules, PII handling and report, and contract inference. Nothing is imported here."""
