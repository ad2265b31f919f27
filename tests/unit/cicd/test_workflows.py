"""What the workflows must be: no stored secret, least privilege, pinned actions, prod only on purpose."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.cicd.conftest import DEPLOY_JOBS, SCRIPTS_DIR, all_steps, load_workflow, workflow_files

AWS_ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
AWS_SECRET_NAMES = re.compile(r"aws_secret_access_key|aws-secret-access-key|aws_session_token|"
                              r"aws-access-key-id|aws_access_key_id", re.IGNORECASE)
# 32+ characters of base64/hex alphabet with at least one digit: keys, tokens, passwords.
TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9+/=_-])(?=[A-Za-z0-9+/=_-]*[0-9])[A-Za-z0-9+/=_-]{32,}")
PINNED_USES = re.compile(r"@[0-9a-f]{40}\b")
SECRETS_CONTEXT = re.compile(r"secrets\s*(\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[)")
ALLOWED_SECRETS = {"GITHUB_TOKEN"}  # the run's own token, minted by GitHub per run
PROD_ONLY_ON_TAGS = "startsWith(github.ref, 'refs/tags/v')"
DEV_ONLY_ON_MAIN = "github.ref == 'refs/heads/main'"


def _texts() -> list[tuple[str, str]]:
    """``(name, text)`` of every workflow and every script a workflow runs."""
    files = [*workflow_files(), *sorted(SCRIPTS_DIR.glob("*"))]
    return [(path.name, path.read_text(encoding="utf-8")) for path in files]


def _remote_uses(workflows: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    found = []
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            if job.get("uses") and not job["uses"].startswith("./"):
                found.append((name, job_id, job["uses"]))
            for step in job.get("steps", []):
                if "uses" in step and not step["uses"].startswith("./"):
                    found.append((name, job_id, step["uses"]))
    return found


# --- no secret, no key --------------------------------------------------------------------------


def test_no_workflow_or_script_holds_an_aws_access_key_id():
    for name, text in _texts():
        assert not AWS_ACCESS_KEY_ID.search(text), f"{name} holds an AWS access key id"


def test_no_workflow_or_script_names_a_long_lived_aws_credential():
    for name, text in _texts():
        assert not AWS_SECRET_NAMES.search(text), f"{name} passes a long-lived AWS credential"


def test_no_workflow_or_script_holds_a_token_like_literal():
    for name, text in _texts():
        for number, line in enumerate(PINNED_USES.sub("@<sha>", text).splitlines(), 1):
            assert not TOKEN_LIKE.search(line), f"{name}:{number}: looks like a literal token: {line.strip()}"


def test_the_secret_scanner_would_catch_a_key_a_token_and_a_secret_name():
    planted = ("AWS_ACCESS_KEY_ID: AKIAABCDEFGHIJKLMNOP\n"
               "token: ghp_4f9Qe2LxT7mZ0aB8cD1eF3gH5iJ6kL9mN2pQ\n"
               "aws-secret-access-key: x\n")
    assert AWS_ACCESS_KEY_ID.search(planted)
    assert TOKEN_LIKE.search(planted.splitlines()[1])
    assert AWS_SECRET_NAMES.search(planted)
    # while a pinned action's commit SHA is not mistaken for a token
    pinned = "uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0"
    assert not TOKEN_LIKE.search(PINNED_USES.sub("@<sha>", pinned))


def test_secrets_are_used_only_as_the_runs_own_github_token():
    for name, text in _texts():
        for match in SECRETS_CONTEXT.finditer(text):
            assert match.group(2) in ALLOWED_SECRETS, f"{name} reads a stored secret: {match.group(0)}"


def test_aws_settings_come_from_repository_variables_not_literals(deploy_workflow):
    for job_id in DEPLOY_JOBS:
        job = deploy_workflow["jobs"][job_id]
        (assume,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws")]
        assert re.fullmatch(r"\$\{\{ vars\.[A-Z_]+ \}\}", assume["with"]["role-to-assume"])
        assert re.fullmatch(r"\$\{\{ vars\.[A-Z_]+ \}\}", assume["with"]["aws-region"])
        assert set(assume["with"]) <= {"role-to-assume", "aws-region", "role-session-name",
                                       "role-duration-seconds"}
        assert job["env"]["SLUICE_ARTIFACT_BUCKET"] == "${{ vars.SLUICE_ARTIFACT_BUCKET }}"


# --- least privilege ------------------------------------------------------------------------------


def test_every_workflow_grants_nothing_by_default(workflows):
    for name, workflow in workflows.items():
        assert workflow.get("permissions") == {}, f"{name}: top-level permissions must be {{}}"


def test_every_job_states_its_permissions_and_only_deploy_jobs_get_an_oidc_token(workflows):
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{name}/{job_id}: no explicit permissions"
            if name == "deploy.yml" and job_id in DEPLOY_JOBS:
                assert permissions == {"contents": "read", "id-token": "write"}, job_id
            else:
                assert permissions == {"contents": "read"}, f"{name}/{job_id}: {permissions}"


def test_only_deploy_jobs_assume_an_aws_role(workflows):
    for name, workflow in workflows.items():
        for job_id, step in all_steps(workflow):
            if step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
                assert name == "deploy.yml" and job_id in DEPLOY_JOBS, f"{name}/{job_id}"


def test_every_checkout_leaves_no_credentials_behind(workflows):
    checkouts = [(name, job_id, step) for name, workflow in workflows.items()
                 for job_id, step in all_steps(workflow)
                 if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for name, job_id, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{name}/{job_id}"


def test_no_run_step_expands_an_expression_into_the_shell(workflows):
    for name, workflow in workflows.items():
        for job_id, step in all_steps(workflow):
            assert "${{" not in step.get("run", ""), f"{name}/{job_id}: pass values through env instead"


# --- pinned, cached, serialised ------------------------------------------------------------------


def test_every_third_party_action_is_pinned_to_a_full_commit_with_its_version_in_a_comment(workflows):
    uses = _remote_uses(workflows)
    assert uses
    for name, job_id, ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{name}/{job_id}: {ref} is not pinned"
    for path in workflow_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if PINNED_USES.search(line):
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+\b", line), f"{path.name}: {line.strip()}"


def test_the_same_action_is_pinned_to_the_same_commit_everywhere(workflows):
    commits: dict[str, set[str]] = {}
    for _, _, ref in _remote_uses(workflows):
        action, _, sha = ref.partition("@")
        commits.setdefault(action.split("/")[0] + "/" + action.split("/")[1], set()).add(sha)
    assert all(len(shas) == 1 for shas in commits.values()), commits


def test_the_virtual_environment_cache_is_keyed_on_the_requirements(workflows):
    keys = [step["with"]["key"] for workflow in workflows.values() for _, step in all_steps(workflow)
            if step.get("uses", "").startswith("actions/cache") and step["with"]["path"] == ".venv"]
    assert keys
    for key in keys:
        assert "hashFiles('requirements.txt', 'requirements-dev.txt', 'pyproject.toml')" in key
        assert "steps.python.outputs.python-version" in key


def test_the_layer_cache_is_keyed_on_the_layer_requirements(deploy_workflow):
    (step,) = [s for s in deploy_workflow["jobs"]["package"]["steps"]
               if s.get("uses", "").startswith("actions/cache") and s["with"]["path"] == "build/layers"]
    assert "hashFiles('requirements-layer-*.txt', 'scripts/build_ml_layer.py')" in step["with"]["key"]


def test_release_builds_read_no_cache(deploy_workflow):
    package_caches = [s for s in deploy_workflow["jobs"]["package"]["steps"]
                      if s.get("uses", "").startswith("actions/cache")]
    assert package_caches
    assert all(s.get("if") == "github.ref_type == 'branch'" for s in package_caches)
    prod_steps = deploy_workflow["jobs"]["deploy-prod"]["steps"]
    assert not [s for s in prod_steps if s.get("uses", "").startswith("actions/cache")]


def test_deploys_of_a_stage_queue_up_and_are_never_cancelled(deploy_workflow):
    assert deploy_workflow["concurrency"]["cancel-in-progress"] is False
    groups = set()
    for job_id in DEPLOY_JOBS:
        concurrency = deploy_workflow["jobs"][job_id]["concurrency"]
        assert concurrency["cancel-in-progress"] is False
        groups.add(concurrency["group"])
    assert len(groups) == len(DEPLOY_JOBS)


def test_pull_request_checks_are_superseded_by_newer_pushes(workflows):
    assert workflows["ci.yml"]["concurrency"]["cancel-in-progress"] is True


# --- what runs when -------------------------------------------------------------------------------


def test_pull_requests_and_branch_pushes_run_make_test_on_python_312(workflows):
    ci = workflows["ci.yml"]
    assert "pull_request" in ci["on"] and "push" in ci["on"] and "workflow_call" in ci["on"]
    assert ci["on"]["push"]["branches-ignore"] == ["main"]  # main is tested by deploy.yml
    steps = ci["jobs"]["test"]["steps"]
    assert ci["jobs"]["test"]["runs-on"] == "ubuntu-latest"
    (python,) = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.12"
    assert [s["run"] for s in steps if "run" in s] == ["make test"]


def test_deploys_start_from_pushes_to_main_and_version_tags_only(deploy_workflow):
    assert deploy_workflow["on"] == {"push": {"branches": ["main"], "tags": ["v*"]}}


def test_deploy_runs_test_then_package_then_the_stage(deploy_workflow):
    jobs = deploy_workflow["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["package"]["needs"] == "test"
    assert jobs["deploy-dev"]["needs"] == "package" and jobs["deploy-prod"]["needs"] == "package"
    runs = [s["run"] for s in jobs["package"]["steps"] if "run" in s]
    assert runs == ['make package STAGE="$STAGE"']
    stage = jobs["package"]["env"]["STAGE"]
    assert stage == "${{ startsWith(github.ref, 'refs/tags/v') && 'prod' || 'dev' }}"


@pytest.mark.parametrize(("job_id", "stage"), sorted(DEPLOY_JOBS.items()))
def test_each_deploy_job_deploys_its_stage_and_reports_the_stack_outputs(deploy_workflow, job_id, stage):
    job = deploy_workflow["jobs"][job_id]
    assert job["env"]["STAGE"] == stage
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == ['make deploy STAGE="$STAGE"', "bash .github/scripts/stack-summary.sh"]
    (download,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert download["with"]["name"] == f"build-{stage}"
    names = [s.get("uses", "") for s in job["steps"]]
    assume = next(i for i, u in enumerate(names) if u.startswith("aws-actions/configure-aws-credentials@"))
    assert assume > names.index(next(u for u in names if u.startswith("actions/download-artifact@")))


def test_the_prod_deploy_needs_the_protected_production_environment_and_a_version_tag(deploy_workflow):
    prod = deploy_workflow["jobs"]["deploy-prod"]
    environment = prod["environment"]
    name = environment["name"] if isinstance(environment, dict) else environment
    assert name == "production"
    assert prod["if"] == PROD_ONLY_ON_TAGS
    assert "SLUICE_PROD_DEPLOY_ROLE_ARN" in str(prod["steps"])


def test_the_dev_deploy_runs_only_on_main_and_outside_any_environment(deploy_workflow):
    # The dev role trusts the subject `ref:refs/heads/main`; an environment would change the subject.
    dev = deploy_workflow["jobs"]["deploy-dev"]
    assert dev["if"] == DEV_ONLY_ON_MAIN
    assert "environment" not in dev
    assert "SLUICE_DEV_DEPLOY_ROLE_ARN" in str(dev["steps"])


def test_no_other_job_can_reach_the_production_environment(workflows):
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            if "environment" in job:
                assert (name, job_id) == ("deploy.yml", "deploy-prod")


def test_workflow_files_load_as_yaml_mappings():
    for path in workflow_files():
        assert isinstance(load_workflow(path)["jobs"], dict)
