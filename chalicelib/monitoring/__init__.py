"""Monitoring: scheduled drift and live-performance checks, reports, alerts and retraining.

``checks`` runs one check end to end; ``capture_window`` reads what serving captured; ``labels``
joins ground truth to captured predictions; ``retrain`` applies the spec's triggers and cooldown;
``reports`` renders JSON, HTML and SageMaker Model Monitor files; ``store`` keeps results in DynamoDB.
"""
