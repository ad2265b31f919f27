"""The promotion gate, both directions: the primary metric against the champion or the trivial baseline,
guard rails against the same reference, absolute thresholds, and a reason for every check."""

import pytest

from chalicelib.core.training.evaluate import metric_directions
from chalicelib.core.training.gate import GatePolicy, decide
from chalicelib.core.training.spec import TrainingSpec
from tests.unit.training.conftest import spec_body

DIRS = metric_directions(["accuracy", "f1", "f1_macro", "log_loss", "rmse", "r2", "mae"])
BASELINE = {"accuracy": 0.6, "f1": 0.0, "log_loss": 0.7}


def auto(primary="accuracy", min_improvement=0.0, guardrails=None, thresholds=None):
    return GatePolicy("auto", primary, min_improvement, guardrails or {}, thresholds or {})


def test_challenger_better_by_the_minimum_is_promoted():
    decision = decide(auto(min_improvement=0.01), {"accuracy": 0.86}, {"accuracy": 0.84}, BASELINE, DIRS)
    assert decision.promote
    assert decision.evidence["champion"] == {"accuracy": 0.84}
    assert abs(decision.evidence["improvement"] - 0.02) < 1e-12
    assert decision.reasons == ["primary accuracy: 0.86 vs the champion's 0.84, improvement 0.02 "
                                "(required ≥ 0.01) — pass"]


def test_challenger_improving_less_than_the_minimum_is_not_promoted():
    decision = decide(auto(min_improvement=0.05), {"accuracy": 0.86}, {"accuracy": 0.84}, BASELINE, DIRS)
    assert not decision.promote
    assert "(required ≥ 0.05) — fail" in decision.reasons[0]


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
    assert decision.reasons[1:] == [
        "guard rail f1: 0.7 vs the champion's 0.75, regresses by 0.05 (allowed regression 0.02) — fail",
        "guard rail log_loss: 0.3 vs the champion's 0.32, improves by 0.02 (allowed regression 0.05) — pass"]


def test_a_guard_rail_within_its_limit_allows_promotion():
    decision = decide(auto(guardrails={"log_loss": 0.05}), {"accuracy": 0.90, "log_loss": 0.35},
                      {"accuracy": 0.85, "log_loss": 0.32}, BASELINE, DIRS)
    assert decision.promote
    assert abs(decision.evidence["guardrails"]["log_loss"]["regression"] - 0.03) < 1e-12


def test_first_version_is_promoted_only_if_it_beats_the_trivial_baseline():
    beats = decide(auto(), {"accuracy": 0.75}, None, BASELINE, DIRS)
    ties = decide(auto(), {"accuracy": 0.60}, None, BASELINE, DIRS)
    assert beats.promote and beats.reasons == [
        "primary accuracy: 0.75 vs the trivial baseline's 0.6, improvement 0.15 (required > 0) — pass"]
    assert not ties.promote and ties.reasons[0].endswith("(required > 0) — fail")
    assert beats.evidence["improvement_over_baseline"] == pytest.approx(0.15)


# ---- guard rails hold for a first version too ------------------------------------------------------


def test_a_first_version_beating_the_baseline_on_the_primary_but_regressing_a_guard_rail_is_not_promoted():
    # the reported case: f1_macro beat the trivial baseline, accuracy 0.18 against the baseline's 0.55
    decision = decide(auto("f1_macro", guardrails={"accuracy": 0.05}),
                      {"f1_macro": 0.31, "accuracy": 0.18}, None, {"f1_macro": 0.12, "accuracy": 0.55}, DIRS)
    assert not decision.promote
    assert decision.reasons == [
        "primary f1_macro: 0.31 vs the trivial baseline's 0.12, improvement 0.19 (required > 0) — pass",
        "guard rail accuracy: 0.18 vs the trivial baseline's 0.55, regresses by 0.37 "
        "(allowed regression 0.05) — fail"]
    guard = decision.evidence["guardrails"]["accuracy"]
    assert guard["against"] == "baseline" and guard["baseline"] == 0.55 and guard["ok"] is False
    assert guard["regression"] == pytest.approx(0.37)
    assert [c["passed"] for c in decision.evidence["checks"]] == [True, False]
    assert decision.evidence["against"] == "baseline" and decision.evidence["checks_passed"] is False


def test_a_first_version_within_its_guard_rails_against_the_baseline_is_promoted():
    decision = decide(auto("f1", guardrails={"accuracy": 0.05, "log_loss": 0.0}),
                      {"accuracy": 0.58, "f1": 0.4, "log_loss": 0.65}, None, BASELINE, DIRS)
    assert decision.promote, decision.reasons
    assert [c["check"] for c in decision.evidence["checks"]] == ["primary", "guardrail", "guardrail"]


# ---- absolute thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(("thresholds", "promote"), [
    ({"accuracy": {"min": 0.8}}, True),
    ({"accuracy": {"min": 0.9}}, False),
    ({"log_loss": {"max": 0.5}}, True),
    ({"log_loss": {"max": 0.3}}, False),
    ({"accuracy": {"min": 0.8, "max": 0.85}}, False),
])
def test_thresholds_hold_in_both_directions(thresholds, promote):
    challenger = {"accuracy": 0.86, "log_loss": 0.4}
    decision = decide(auto(thresholds=thresholds), challenger, {"accuracy": 0.84, "log_loss": 0.41},
                      BASELINE, DIRS)
    assert decision.promote is promote
    [(metric, bounds)] = thresholds.items()
    recorded = decision.evidence["thresholds"][metric]
    assert recorded == {"value": challenger[metric], **bounds, "ok": promote}
    assert len(decision.reasons) == 1 + len(bounds)


def test_each_threshold_bound_gets_its_own_reason_with_the_numbers():
    decision = decide(auto("rmse", thresholds={"rmse": {"max": 12}, "r2": {"min": 0.6}}),
                      {"rmse": 13.25, "r2": 0.7}, None, {"rmse": 20.0, "r2": 0.0}, DIRS)
    assert not decision.promote
    assert decision.reasons[1:] == ["threshold r2 ≥ 0.6: 0.7 — pass", "threshold rmse ≤ 12: 13.25 — fail"]


def test_a_threshold_binds_even_a_challenger_that_beats_the_champion():
    decision = decide(auto(thresholds={"accuracy": {"min": 0.6}}), {"accuracy": 0.55}, {"accuracy": 0.4},
                      BASELINE, DIRS)
    assert not decision.promote and decision.reasons[0].endswith("— pass")


def test_thresholds_come_from_the_spec():
    spec = TrainingSpec.model_validate(spec_body(promotion={"thresholds": {"accuracy": {"min": 0.6},
                                                                           "log_loss": {"max": 0.9}}}))
    policy = GatePolicy.from_spec(spec)
    assert policy.thresholds == {"accuracy": {"min": 0.6}, "log_loss": {"max": 0.9}}
    assert "log_loss" in spec.metric_names()


# ---- manual mode and missing values -----------------------------------------------------------------


def test_manual_policy_never_promotes_even_a_clear_winner_but_still_reports_every_check():
    policy = GatePolicy("manual", "accuracy", 0.0, {"f1": 0.1}, {"accuracy": {"min": 0.9}})
    decision = decide(policy, {"accuracy": 0.99, "f1": 0.8}, {"accuracy": 0.5, "f1": 0.7}, BASELINE, DIRS)
    assert not decision.promote
    assert decision.reasons[0] == ("promotion policy is manual: the version stays a candidate for review "
                                   "(every check passed)")
    assert [r.rsplit("— ", 1)[1] for r in decision.reasons[1:]] == ["pass", "pass", "pass"]
    assert decision.evidence["checks_passed"] is True


def test_an_uncomputable_primary_metric_is_never_promoted():
    decision = decide(auto(), {"accuracy": None}, {"accuracy": 0.5}, BASELINE, DIRS)
    assert not decision.promote
    assert decision.reasons == ["primary accuracy: could not be computed for the challenger — fail"]


@pytest.mark.parametrize(("challenger", "baseline", "failing"), [
    ({"accuracy": 0.9, "log_loss": None}, BASELINE, "guard rail log_loss: could not be computed for the "
                                                    "challenger — fail"),
    ({"accuracy": 0.9, "log_loss": 0.3}, {"accuracy": 0.6, "log_loss": None},
     "guard rail log_loss: could not be computed for the trivial baseline — fail"),
    ({"accuracy": 0.9, "log_loss": 0.3}, {"accuracy": None, "log_loss": 0.7},
     "primary accuracy: could not be computed for the trivial baseline — fail"),
])
def test_a_missing_value_fails_its_check_and_says_whose_it_is(challenger, baseline, failing):
    decision = decide(auto(guardrails={"log_loss": 0.1}), challenger, None, baseline, DIRS)
    assert not decision.promote and failing in decision.reasons


def test_a_threshold_on_a_metric_that_could_not_be_computed_fails():
    decision = decide(auto(thresholds={"f1": {"min": 0.1}}), {"accuracy": 0.9, "f1": None}, None, BASELINE,
                      DIRS)
    assert not decision.promote
    assert decision.reasons[-1] == "threshold f1 ≥ 0.1: could not be computed — fail"
    assert decision.evidence["thresholds"]["f1"] == {"value": None, "min": 0.1, "ok": False}
