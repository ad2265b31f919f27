"""sluice's Lambda code, in four layers; each imports only the layers below it (``.importlinter``).

``triggers``  entry points: HTTP routes and Lambda event handlers — parse, call one service, map errors
``services``  orchestration, one module per capability: uploads, contracts, training, registry, serving,
              batch, drift, performance, schedule, dashboard
``storage``   the only code that talks to AWS (boto3, awswrangler): every S3 prefix and DynamoDB key
              (:mod:`chalicelib.storage.layout`), the stores, artifacts and captured traffic
``core``      pure: contracts and the validation engine, drift statistics, the training pipeline, metrics
              and gate, the registry's entities, serving's schema and scoring, errors, settings
"""

__version__ = "0.1.0"
