"""Datasets: names, dataset-version records, request bodies and errors."""
