"""The promotion gate, both directions: champion comparisons, guard rails, the first-version baseline rule."""

from chalicelib.training.evaluate import metric_directions
from chalicelib.training.gate import GatePolicy, decide

DIRS = metric_directions(["accuracy", "f1", "log_loss", "rmse", "r2"])
BASELINE = {"accuracy": 0.6, "f1": 0.0, "log_loss": 0.7}


def auto(primary="accuracy", min_improvement=0.0, guardrails=None):
    return GatePolicy("auto", primary, min_improvement, guardrails or {})


def test_challenger_better_by_the_minimum_is_promoted():
    decision = decide(auto(min_improvement=0.01), {"accuracy": 0.86}, {"accuracy": 0.84}, BASELINE, DIRS)
    assert decision.promote
    assert decision.evidence["champion"] == {"accuracy": 0.84}
    assert abs(decision.evidence["improvement"] - 0.02) < 1e-12


def test_challenger_improving_less_than_the_minimum_is_not_promoted():
    decision = decide(auto(min_improvement=0.05), {"accuracy": 0.86}, {"accuracy": 0.84}, BASELINE, DIRS)
    assert not decision.promote
    assert "< required 0.05" in decision.reasons[0]


def test_worse_challenger_is_not_promoted():
    decision = decide(auto(), {"accuracy": 0.80}, {"accuracy": 0.84}, BASELINE, DIRS)
    assert not decision.promote


def test_lower_is_better_metrics_improve_downwards():
    better = decide(auto("rmse", 0.1), {"rmse": 2.0}, {"rmse": 2.5}, {"rmse": 5.0}, DIRS)
    worse = decide(auto("rmse", 0.0), {"rmse": 2.6}, {"rmse": 2.5}, {"rmse": 5.0}, DIRS)
    assert better.promote and not worse.promote


def test_a_guard_rail_regressing_past_its_limit_blocks_promotion():
    decision = decide(auto(guardrails={"f1": 0.02, "log_loss": 0.05}),
                      {"accuracy": 0.90, "f1": 0.70, "log_loss": 0.30},
                      {"accuracy": 0.85, "f1": 0.75, "log_loss": 0.32}, BASELINE, DIRS)
    assert not decision.promote
    assert decision.evidence["guardrails"]["f1"]["ok"] is False
    assert decision.evidence["guardrails"]["log_loss"]["ok"] is True
    assert any("guard rail f1 regresses by 0.05" in r for r in decision.reasons)


def test_a_guard_rail_within_its_limit_allows_promotion():
    decision = decide(auto(guardrails={"log_loss": 0.05}), {"accuracy": 0.90, "log_loss": 0.35},
                      {"accuracy": 0.85, "log_loss": 0.32}, BASELINE, DIRS)
    assert decision.promote
    assert abs(decision.evidence["guardrails"]["log_loss"]["regression"] - 0.03) < 1e-12


def test_first_version_is_promoted_only_if_it_beats_the_trivial_baseline():
    beats = decide(auto(), {"accuracy": 0.75}, None, BASELINE, DIRS)
    ties = decide(auto(), {"accuracy": 0.60}, None, BASELINE, DIRS)
    assert beats.promote and "beats the trivial baseline" in beats.reasons[0]
    assert not ties.promote and "does not beat the trivial baseline" in ties.reasons[0]


def test_manual_policy_never_promotes_even_a_clear_winner():
    decision = decide(GatePolicy("manual", "accuracy"), {"accuracy": 0.99}, {"accuracy": 0.5}, BASELINE, DIRS)
    assert not decision.promote
    assert decision.reasons[0].startswith("promotion policy is manual")


def test_an_uncomputable_primary_metric_is_never_promoted():
    decision = decide(auto(), {"accuracy": None}, {"accuracy": 0.5}, BASELINE, DIRS)
    assert not decision.promote
    assert "could not be computed" in decision.reasons[0]
