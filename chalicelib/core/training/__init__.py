"""Training's pure parts: the spec, the estimator allow-list, the pipeline, the trainer, the metrics
(``evaluate``) and the promotion gate."""
