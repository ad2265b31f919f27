"""The example spec the README tour puts (examples/fare.spec.yaml) trains on the example rides and its
first version passes every check of its own gate: primary, guard rail and thresholds."""

from pathlib import Path

import pandas as pd
import yaml

from chalicelib.core.training.evaluate import metric_directions
from chalicelib.core.training.features import resolve_features
from chalicelib.core.training.gate import GatePolicy, decide
from chalicelib.core.training.spec import TrainingSpec
from chalicelib.core.training.trainer import train
from chalicelib.core.validation.contract import parse_contract

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_example_fare_spec_promotes_its_first_version_through_every_check():
    spec = TrainingSpec.model_validate(yaml.safe_load((EXAMPLES / "fare.spec.yaml").read_text()))
    contract = parse_contract(yaml.safe_load((EXAMPLES / "rides.contract.yaml").read_text()))
    rides = pd.read_csv(EXAMPLES / "rides.csv")
    result = train(spec, resolve_features(spec, contract), rides, importance=False)
    policy = GatePolicy.from_spec(spec)
    assert policy.thresholds and policy.guardrails  # the example shows both
    decision = decide(policy, result.metrics, None, result.baseline, metric_directions(spec.metric_names()))
    assert decision.promote, decision.reasons
    checks = [c["check"] for c in decision.evidence["checks"]]
    assert checks == ["primary", "guardrail", "threshold", "threshold"]
