"""Every ``sluice`` command against the local stack, in-process, as a person and as a script would run it.

One stack for the module; the tests follow a user's first hour in order (contract → upload → dataset
versions → spec → train → registry → serving → monitoring → lineage), each reading what the earlier
ones left in ``facts``. People get tables (asserted on stdout), scripts get ``--json``.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
import yaml

from sluice.cli import main
from tests.e2e.cli.cli_data import CliFiles, write_files

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATASET = "rides-cli"
MODEL = "fare-cli"
facts: dict[str, Any] = {}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> CliFiles:
    return write_files(tmp_path_factory.mktemp("cli"), DATASET)


@pytest.fixture
def sluice(stack, capsys):
    """``sluice(*args)`` → (exit code, stdout, stderr), pointed at the module's stack."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args, "--api", stack.info.api_url])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def sluice_json(sluice):
    """``sluice_json(*args)`` → the parsed ``--json`` output of a command that must succeed."""

    def run(*args: str) -> Any:
        code, out, err = sluice(*args, "--json")
        assert code == 0, out + err
        return json.loads(out)

    return run


def quiet_json(stack, *args: str) -> Any:
    """A command's ``--json`` output, for module fixtures (which cannot use capsys)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main([*args, "--api", stack.info.api_url, "--json"])
    assert code == 0, buffer.getvalue()
    return json.loads(buffer.getvalue())


def upload_and_wait(stack, run, dataset: str, path) -> tuple[dict[str, Any], Any]:
    """Upload through the CLI, then wait until the gate (``on_raw_object``) has validated the object."""
    after = len(stack.pump.deliveries)
    uploaded = run("datasets", "upload", dataset, str(path))
    delivery = stack.pump.wait_for("on_raw_object", uploaded["key"], after=after, timeout=60)
    assert delivery.ok, delivery.error
    return uploaded, delivery


# ---- contracts and uploads ---------------------------------------------------------------------


def test_contract_put_stores_a_yaml_then_a_json_contract_as_new_versions(sluice, sluice_json, files):
    first = sluice_json("contract", "put", DATASET, str(files.contract_yaml))
    assert (first["dataset"], first["version"]) == (DATASET, 1)
    code, out, _ = sluice("contract", "put", DATASET, str(files.contract_json))
    assert code == 0
    assert "version" in out and "2" in out and "rides-cli" in out
    facts["contract_version"] = 2


def test_contract_show_shows_the_latest_contract_or_an_earlier_version(sluice, sluice_json):
    latest = sluice_json("contract", "show", DATASET)
    assert latest["version"] == 2
    assert latest["contract"]["rules"]["row_count"]["min"] == 150
    first = sluice_json("contract", "show", DATASET, "--version", "1")
    assert first["contract"]["rules"]["row_count"]["min"] == 100
    assert [c["name"] for c in first["contract"]["columns"]][:2] == ["ride_id", "pickup_ts"]
    code, out, _ = sluice("contract", "show", DATASET)
    assert code == 0 and "rider_email" in out and "hash" in out


def test_datasets_upload_with_json_is_quiet_and_the_gate_passes_the_file(stack, sluice, files):
    after = len(stack.pump.deliveries)
    code, out, err = sluice("datasets", "upload", DATASET, str(files.rides_csv), "--json")
    assert code == 0, out + err
    uploaded = json.loads(out)
    assert err == ""  # no progress bar for scripts
    assert uploaded["key"].startswith(f"raw/{DATASET}/") and uploaded["key"].endswith("-rides-2026-11.csv")
    assert uploaded["bytes"] == files.rides_csv.stat().st_size
    delivery = stack.pump.wait_for("on_raw_object", uploaded["key"], after=after, timeout=60)
    assert delivery.ok, delivery.error
    facts["raw_key"] = uploaded["key"]


def test_datasets_upload_shows_a_progress_bar_for_people(stack, sluice, files):
    after = len(stack.pump.deliveries)
    code, out, err = sluice("datasets", "upload", DATASET, str(files.rides_more_csv))
    assert code == 0, out + err
    assert "rides-2026-12.csv" in err and "100%" in err
    key = next(line.split()[-1] for line in out.splitlines() if "raw/" in line)
    assert key.startswith(f"raw/{DATASET}/")
    assert stack.pump.wait_for("on_raw_object", key, after=after, timeout=60).ok
    facts["raw_key_2"] = key


def test_contract_infer_key_reads_an_object_already_in_raw_by_its_full_or_relative_key(sluice, sluice_json):
    suggested = sluice_json("contract", "infer", DATASET, "--key", facts["raw_key"])
    assert "source" not in suggested and suggested["dataset"] == DATASET  # the contract document itself
    columns = {c["name"]: c for c in suggested["columns"]}
    assert columns["passengers"]["type"] == "int" and columns["fare_eur"]["type"] == "float"
    relative = facts["raw_key"].removeprefix(f"raw/{DATASET}/")
    assert sluice_json("contract", "infer", DATASET, "--key", relative) == suggested
    code, out, _ = sluice("contract", "infer", DATASET, "--key", facts["raw_key"])
    assert code == 0 and "distance_km" in out


def _objects(stack, prefix: str) -> list[str]:
    from chalicelib.storage import client

    listed = client("s3").list_objects_v2(Bucket=stack.info.bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_contract_infer_from_a_local_file_writes_yaml_that_put_stores_and_the_file_then_passes(
        stack, sluice, sluice_json, files, tmp_path):
    dataset = "rides-inferred"
    written = tmp_path / "rides.contract.yaml"
    after = len(stack.pump.deliveries)
    code, out, err = sluice("contract", "infer", dataset, str(files.rides_csv), "-o", str(written))
    assert code == 0, out + err
    assert "distance_km" in out and "wrote" in out and "rides-2026-11.csv" in out
    document = yaml.safe_load(written.read_text())
    assert document["dataset"] == dataset and "source" not in document
    # the sample went to staging/ (which starts nothing), not to raw/: no dataset version, no validation
    [staged] = _objects(stack, f"staging/{dataset}/")
    assert staged.endswith("-rides-2026-11.csv")
    assert _objects(stack, f"raw/{dataset}/") == []
    assert not any(d.what == staged or d.what.startswith(f"raw/{dataset}/")
                   for d in stack.pump.deliveries[after:])
    stored = sluice_json("contract", "put", dataset, str(written))
    assert stored["version"] == 1
    assert sluice_json("datasets", "versions", dataset)["items"] == []
    # round trip: the file the contract was inferred from passes it
    upload_and_wait(stack, sluice_json, dataset, files.rides_csv)
    [version] = sluice_json("datasets", "versions", dataset)["items"]
    assert version["status"] == "passed", version


def test_contract_infer_json_prints_exactly_a_document_that_put_accepts(sluice, sluice_json, files,
                                                                        tmp_path):
    dataset = "rides-inferred-json"
    code, out, err = sluice("contract", "infer", dataset, str(files.rides_more_csv), "--json")
    assert code == 0, out + err
    printed = json.loads(out)
    assert printed["dataset"] == dataset and {"source", "sampled_bytes", "contract"}.isdisjoint(printed)
    path = tmp_path / "printed.json"
    path.write_text(out)
    assert sluice_json("contract", "put", dataset, str(path))["version"] == 1
    as_json = tmp_path / "rides.contract.json"
    assert sluice_json("contract", "infer", dataset, str(files.rides_more_csv), "-o", str(as_json)) == printed
    assert json.loads(as_json.read_text()) == printed
    assert sluice_json("contract", "put", dataset, str(as_json))["version"] == 2


# ---- datasets -----------------------------------------------------------------------------------


def test_datasets_list_shows_the_dataset_in_a_table_and_as_json(sluice, sluice_json):
    listed = sluice_json("datasets", "list")
    [ours] = [d for d in listed["items"] if d["dataset"] == DATASET]
    assert ours["latest_version"] == 2
    code, out, _ = sluice("datasets", "list")
    assert code == 0 and DATASET in out


def test_datasets_versions_lists_both_uploads_newest_first(sluice, sluice_json):
    versions = sluice_json("datasets", "versions", DATASET)["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert {v["status"] for v in versions} == {"passed"}
    assert versions[1]["raw"]["key"] == facts["raw_key"]
    code, out, _ = sluice("datasets", "versions", DATASET)
    assert code == 0 and "passed" in out and "status" in out
    facts["dataset_version"] = 1


def test_datasets_show_gives_the_report_and_lineage(sluice, sluice_json):
    shown = sluice_json("datasets", "show", DATASET, "1")
    assert shown["status"] == "passed" and shown["rows"] == 300
    assert shown["lineage"]["raw"]["key"] == facts["raw_key"]
    assert shown["report"]["verdict"] == "pass"
    code, out, _ = sluice("datasets", "show", DATASET, "1")
    assert code == 0 and "passed" in out and "curated" in out


# ---- specs and training -------------------------------------------------------------------------


def test_spec_put_stores_a_yaml_and_a_json_spec(sluice, sluice_json, files):
    first = sluice_json("spec", "put", MODEL, str(files.spec_yaml))
    assert first["version"] == 1
    second = sluice_json("spec", "put", MODEL, str(files.spec_json))
    assert second["version"] == 2
    code, out, _ = sluice("spec", "show", MODEL)
    assert code == 0 and "Ridge" in out


def test_spec_show_shows_the_latest_or_an_earlier_version(sluice_json):
    assert sluice_json("spec", "show", MODEL)["spec"]["seed"] == 8
    assert sluice_json("spec", "show", MODEL, "--version", "1")["spec"]["seed"] == 7


def test_runs_start_wait_runs_to_a_registered_candidate_version(sluice):
    code, out, err = sluice("runs", "start", MODEL, "--wait", "--reason", "cli test: first model", "--json")
    assert code == 0, out + err
    run = json.loads(out)
    assert run["status"] == "succeeded"
    assert run["version"] == 1
    assert run["metrics"]["rmse"] >= 0
    facts["run_id"] = run["run_id"]


def test_runs_show_gives_the_run_with_its_metrics(sluice, sluice_json):
    run = sluice_json("runs", "show", MODEL, facts["run_id"])
    assert (run["status"], run["version"], run["reason"]) == ("succeeded", 1, "cli test: first model")
    code, out, _ = sluice("runs", "show", MODEL, facts["run_id"])
    assert code == 0 and "succeeded" in out and "rmse" in out


def test_runs_list_shows_the_run(sluice, sluice_json):
    [run] = sluice_json("runs", "list", MODEL)["items"]
    assert (run["run_id"], run["status"]) == (facts["run_id"], "succeeded")
    code, out, _ = sluice("runs", "list", MODEL)
    assert code == 0 and "succeeded" in out and "cli test" in out


def test_models_list_shows_the_model(sluice, sluice_json):
    [ours] = [m for m in sluice_json("models", "list")["items"] if m["model"] == MODEL]
    assert ours["version_count"] == 1
    code, out, _ = sluice("models", "list")
    assert code == 0 and MODEL in out


def test_models_versions_and_show_give_the_candidate(sluice, sluice_json):
    [listed] = sluice_json("models", "versions", MODEL)["items"]
    assert (listed["version"], listed["status"]) == (1, "candidate")
    shown = sluice_json("models", "show", MODEL, "1")
    assert shown["run_id"] == facts["run_id"]
    assert shown["dataset_versions"][0]["dataset"] == DATASET
    code, out, _ = sluice("models", "versions", MODEL)
    assert code == 0 and "candidate" in out
    code, out, _ = sluice("models", "show", MODEL, "1")
    assert code == 0 and facts["run_id"] in out


def test_models_update_sets_and_removes_tags_and_the_description(sluice, sluice_json):
    updated = sluice_json("models", "update", MODEL, "1", "--description", "first fare model",
                          "--tag", "owner=pricing", "--tag", "ticket=ML-7")
    assert updated["description"] == "first fare model"
    assert updated["tags"]["owner"] == "pricing" and updated["tags"]["ticket"] == "ML-7"
    code, out, _ = sluice("models", "update", MODEL, "1", "--untag", "ticket")
    assert code == 0 and "pricing" in out and "ML-7" not in out
    code, out, _ = sluice("models", "update", MODEL, "1", "--tag", "no-equals-sign")
    assert code == 1 and "error invalid_tag:" in out


# ---- promotion and serving ----------------------------------------------------------------------


def test_models_promote_makes_the_version_production(sluice, sluice_json):
    promoted = sluice_json("models", "promote", MODEL, "1", "--reason", "metrics reviewed")
    assert promoted["model_version"]["status"] == "approved"
    assert (promoted["alias_move"]["alias"], promoted["alias_move"]["to_version"]) == ("production", 1)


def test_models_predict_scores_the_records_of_a_json_file(sluice_json, files):
    answer = sluice_json("models", "predict", MODEL, str(files.predict_json))
    assert (answer["version"], answer["alias"]) == (1, "production")
    assert len(answer["predictions"]) == 6
    assert all(isinstance(p, float) for p in answer["predictions"])
    facts["predictions"] = answer["predictions"]


def test_models_predict_scores_a_csv_file_with_its_numbers_typed(sluice, sluice_json, files):
    answer = sluice_json("models", "predict", MODEL, str(files.predict_csv), "--version", "1")
    assert answer["version"] == 1
    assert answer["predictions"] == pytest.approx(facts["predictions"])
    code, out, _ = sluice("models", "predict", MODEL, str(files.predict_csv))
    assert code == 0 and "prediction" in out


def test_drift_check_runs_now_and_drift_history_lists_it(sluice, sluice_json):
    check = sluice_json("drift", "check", MODEL)
    assert check["model"] == MODEL and check["version"] == 1
    history = sluice_json("drift", "history", MODEL)["items"]
    assert history and history[0]["version"] == 1
    code, out, _ = sluice("drift", "history", MODEL)
    assert code == 0 and "manual" in out


# ---- a second version: aliases, rollback, rejection ---------------------------------------------


def test_runs_start_wait_shows_progress_and_the_run_for_people(sluice):
    code, out, err = sluice("runs", "start", MODEL, "--wait", "--reason", "cli test: second model")
    assert code == 0, out + err
    assert "succeeded" in out and "rmse" in out
    assert "run" in err  # progress went to stderr


def test_aliases_set_moves_an_alias_and_refuses_a_stale_expected_version(sluice, sluice_json):
    moved = sluice_json("aliases", "set", MODEL, "staging", "2", "--reason", "try it")
    assert (moved["from_version"], moved["to_version"]) == (None, 2)
    code, out, _ = sluice("aliases", "set", MODEL, "staging", "1", "--expected", "1")
    assert code == 1
    assert "alias_conflict" in out or "conflict" in out
    moved = sluice_json("aliases", "set", MODEL, "staging", "1", "--expected", "2")
    assert (moved["from_version"], moved["to_version"]) == (2, 1)


def test_aliases_history_lists_the_moves_and_answers_at_a_time(sluice, sluice_json):
    history = sluice_json("aliases", "history", MODEL, "staging")["items"]
    assert [(h["from_version"], h["to_version"]) for h in history][:2] in ([(2, 1), (None, 2)],
                                                                          [(None, 2), (2, 1)])
    at = sluice_json("aliases", "history", MODEL, "staging", "--at", "2000-01-01T00:00:00Z")
    assert at["version"] is None
    code, out, _ = sluice("aliases", "history", MODEL, "staging")
    assert code == 0 and "try it" in out and "anonymous" in out


def test_aliases_show_answers_where_an_alias_points(sluice, sluice_json):
    assert sluice_json("aliases", "show", MODEL, "staging")["version"] == 1
    code, out, _ = sluice("aliases", "show", MODEL, "staging")
    assert code == 0 and "staging: version 1" in out


def test_aliases_delete_removes_the_alias(sluice, sluice_json):
    deleted = sluice_json("aliases", "delete", MODEL, "staging")
    assert (deleted["from_version"], deleted["to_version"]) == (1, None)
    code, out, _ = sluice("aliases", "delete", MODEL, "staging")
    assert code == 1 and "alias_not_found" in out


def test_models_rollback_moves_production_back_and_reject_refuses_the_version(sluice, sluice_json):
    sluice_json("models", "promote", MODEL, "2")
    rolled = sluice_json("models", "rollback", MODEL, "--reason", "v2 misbehaves")["alias_move"]
    assert (rolled["from_version"], rolled["to_version"]) == (2, 1)
    rejected = sluice_json("models", "reject", MODEL, "2", "--reason", "v2 misbehaves")
    assert rejected["status"] == "rejected"
    code, out, _ = sluice("models", "versions", MODEL)
    assert code == 0 and "rejected" in out and "approved" in out


def test_models_audit_lists_who_did_what(sluice, sluice_json):
    events = sluice_json("models", "audit", MODEL, "--all")["items"]
    assert {"version_registered", "version_updated", "status_changed", "alias_moved",
            "alias_deleted"} <= {e["event"] for e in events}
    code, out, _ = sluice("models", "audit", MODEL)
    assert code == 0 and "anonymous" in out


def test_health_says_the_api_answers(sluice_json):
    assert sluice_json("health")["status"] == "ok"


def test_models_lineage_traces_a_version_to_the_raw_upload(sluice, sluice_json):
    lineage = sluice_json("models", "lineage", MODEL, "1")
    [dataset] = lineage["datasets"]
    assert (dataset["dataset"], dataset["version"], dataset["found"]) == (DATASET, 2, True)
    assert dataset["raw"]["key"] == facts["raw_key_2"]
    code, out, _ = sluice("models", "lineage", MODEL, "1")
    assert code == 0 and DATASET in out


# ---- failure paths ------------------------------------------------------------------------------

MISSING = "no-such-model"


@pytest.mark.parametrize(("args", "code"), [
    (["contract", "show", "no-such-dataset"], "contract_not_found"),
    (["contract", "infer", DATASET, "--key", f"raw/{DATASET}/missing.csv"], "object_not_found"),
    (["contract", "infer", DATASET, f"raw/{DATASET}/missing.csv"], "file_not_found"),
    (["contract", "infer", DATASET], "invalid_arguments"),
    (["contract", "infer", DATASET, "--key", "a.csv", "-o", "/no/such/folder/c.yaml"], "invalid_output"),
    (["datasets", "versions", "no-such-dataset"], "dataset_not_found"),
    (["datasets", "show", DATASET, "99"], "version_not_found"),
    (["spec", "show", MISSING], "spec_not_found"),
    (["runs", "start", MISSING], "spec_not_found"),
    (["runs", "show", MISSING, "20261126T000000000Z-00000000"], "run_not_found"),
    (["models", "versions", MISSING], "model_not_found"),
    (["models", "show", MISSING, "1"], "model_version_not_found"),
    (["aliases", "set", MISSING, "staging", "1"], "model_version_not_found"),
    (["aliases", "delete", MISSING, "staging"], "alias_not_found"),
    (["aliases", "show", MISSING, "staging"], "alias_not_found"),
    (["models", "update", MISSING, "1", "--description", "x"], "model_version_not_found"),
    (["models", "promote", MISSING, "1"], "model_version_not_found"),
    (["models", "reject", MISSING, "1"], "model_version_not_found"),
    (["models", "rollback", MISSING], "nothing_to_roll_back"),
    (["drift", "check", MISSING], "no_production_version"),
    (["models", "lineage", MISSING, "1"], "model_version_not_found"),
])
def test_a_failing_command_exits_1_with_the_api_error_code(sluice, args, code):
    exit_code, out, _ = sluice(*args)
    assert exit_code == 1
    assert f"error {code}:" in out


def test_runs_start_wait_exits_1_with_the_runs_error_when_the_run_fails(sluice, sluice_json, files):
    contract = json.loads(files.contract_json.read_text()) | {"dataset": "no-data-yet"}
    path = files.contract_json.with_name("no-data-yet.contract.json")
    path.write_text(json.dumps(contract))
    sluice_json("contract", "put", "no-data-yet", str(path))
    spec = json.loads(files.spec_json.read_text()) | {"dataset": "no-data-yet"}
    path = files.spec_json.with_name("no-data-yet.spec.json")
    path.write_text(json.dumps(spec))
    sluice_json("spec", "put", "fare-no-data", str(path))
    code, out, err = sluice("runs", "start", "fare-no-data", "--wait", "--timeout", "60")
    assert code == 1
    assert "error run_failed:" in out and "dataset_not_ready" in out
    assert "failed" in err


def test_without_api_the_cli_finds_the_stack_through_sluice_api(stack, capsys, monkeypatch):
    monkeypatch.setenv("SLUICE_API", stack.info.api_url)
    assert main(["models", "list", "--json"]) == 0
    assert MODEL in {m["model"] for m in json.loads(capsys.readouterr().out)["items"]}


def test_models_predict_for_a_missing_model_and_a_bad_file_fail_clearly(sluice, files, tmp_path):
    exit_code, out, _ = sluice("models", "predict", MISSING, str(files.predict_json))
    assert exit_code == 1 and "alias_not_found" in out
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    exit_code, out, _ = sluice("models", "predict", MODEL, str(broken))
    assert exit_code == 1 and "invalid_file" in out
    exit_code, out, _ = sluice("datasets", "upload", DATASET, str(tmp_path / "nowhere.csv"))
    assert exit_code == 1 and "file_not_found" in out


def test_help_reads_well_for_the_tool_and_each_group(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    top = capsys.readouterr().out
    for command in ("contract", "upload", "datasets", "spec", "train", "runs", "models", "versions",
                    "alias", "aliases", "promote", "reject", "rollback", "predict", "drift", "lineage",
                    "completion"):
        assert command in top
    for group in ("contract", "datasets", "spec", "runs", "models", "versions", "aliases", "alias", "drift"):
        with pytest.raises(SystemExit):
            main([group, "--help"])
        assert "usage: sluice " + group in capsys.readouterr().out


@pytest.mark.parametrize(("earlier", "now"), [
    (["versions", "list", MODEL], ["models", "versions", MODEL]),
    (["versions", "show", MODEL, "1"], ["models", "show", MODEL, "1"]),
    (["alias", "get", MODEL, "production"], ["aliases", "show", MODEL, "production"]),
    (["alias", "history", MODEL, "production"], ["aliases", "history", MODEL, "production"]),
    (["lineage", MODEL, "1"], ["models", "lineage", MODEL, "1"]),
    (["contract", "get", DATASET], ["contract", "show", DATASET]),
    (["spec", "get", MODEL], ["spec", "show", MODEL]),
])
def test_earlier_spellings_answer_as_the_noun_verb_ones_do(sluice_json, earlier, now):
    assert sluice_json(*earlier) == sluice_json(*now)


def test_earlier_spellings_of_writes_still_act(sluice_json, files):
    assert sluice_json("predict", MODEL, str(files.predict_json))["version"] == 1
    staged = sluice_json("alias", "set", MODEL, "canary", "1")
    assert (staged["alias"], staged["to_version"]) == ("canary", 1)
    assert sluice_json("alias", "delete", MODEL, "canary")["to_version"] is None
