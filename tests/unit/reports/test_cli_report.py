"""``sluice datasets show DATASET VERSION --html FILE``: the validation report page written from the API's
answers (the version with its stored report, and the contract it was validated with)."""

import argparse
from typing import Any

from sluice.api_client import ApiClient
from sluice.cli.datasets import dataset_version

VERSION = {"dataset": "rides", "version": 2, "status": "passed", "rows": 4, "invalid_rows": 1,
           "contract_version": 3, "raw": {"bucket": "b", "key": "raw/rides/feb.csv"},
           "report": {"rules": [{"id": "email.pattern", "column": "email", "kind": "pattern",
                                 "severity": "error", "level": "row", "status": "failed", "passed": False,
                                 "failing_rows": 1,
                                 "examples": [{"row": 0, "value": "Mallory Evil"}]}]}}
CONTRACT = {"dataset": "rides", "version": 3,
            "contract": {"columns": [{"name": "email", "type": "string", "pii": "mask"}]}}


class Api(ApiClient):
    """The API's answers to the two GETs the command makes (no network)."""

    def __init__(self) -> None:
        super().__init__("http://localhost:0", sign=False)
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def get(self, path: str, **params: Any) -> Any:
        self.asked.append((path, params))
        return dict(CONTRACT) if path.endswith("/contract") else dict(VERSION)


def test_show_with_html_writes_the_report_page_with_pii_masked_using_the_versions_own_contract(tmp_path):
    api = Api()
    target = tmp_path / "report.html"
    options = argparse.Namespace(dataset="rides", version=2, html=str(target), open=False)
    result = dataset_version(api, options)
    assert result["report_html_file"] == str(target)
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Validation report: rides v2" in page
    assert "Mallory" not in page and "row 0: M***" in page
    assert api.asked == [("/datasets/rides/versions/2", {}), ("/datasets/rides/contract", {"version": 3})]


def test_show_without_html_writes_nothing(tmp_path):
    result = dataset_version(Api(), argparse.Namespace(dataset="rides", version=2, html=None, open=False))
    assert "report_html_file" not in result
