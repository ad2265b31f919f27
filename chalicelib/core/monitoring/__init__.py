"""Monitoring's pure parts: when live performance counts as a drop, the HTML drift report and the
SageMaker Model Monitor files."""
