"""DataOps gate: data contracts, validation of uploads, privacy rules, curated data, quarantine."""
