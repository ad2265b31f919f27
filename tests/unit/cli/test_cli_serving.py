"""``sluice models serving MODEL``: shows a model's serving settings, or sets the ones given."""

from __future__ import annotations

from unittest.mock import create_autospec

import pytest
from rich.console import Console

from sluice.api_client import ApiClient, ApiError
from sluice.cli import build_parser
from sluice.cli.serving import serving_view

SHOWN = {"model": "fare", "capture_percent": None, "shadow_alias": "shadow", "updated_at": "",
         "updated_by": "", "revision": 0, "stack_capture_percent": 10.0, "effective_capture_percent": 10.0}


def run(argv: list[str]):
    args = build_parser().parse_args(["models", "serving", "fare", *argv])
    api = create_autospec(ApiClient, instance=True)
    api.get.return_value = api.request.return_value = SHOWN
    args.api_call(api, args)
    return api


def test_without_options_it_reads_the_settings():
    api = run([])
    api.get.assert_called_once_with("/models/fare/serving")
    api.request.assert_not_called()


@pytest.mark.parametrize(("argv", "body"), [
    (["--capture-percent", "20", "--shadow-alias", "challenger"], {"capture_percent": 20.0,
                                                                    "shadow_alias": "challenger"}),
    (["--capture-percent", "0"], {"capture_percent": 0.0}),
    (["--stack-capture"], {"capture_percent": None}),
    (["--no-shadow"], {"shadow_alias": None}),
    (["--stack-capture", "--shadow-alias", "staging"], {"capture_percent": None, "shadow_alias": "staging"}),
])
def test_options_put_exactly_the_fields_they_name(argv, body):
    api = run(argv)
    api.request.assert_called_once_with("PUT", "/models/fare/serving", body=body)


def test_a_percentage_outside_0_to_100_is_refused_before_any_call():
    with pytest.raises(ApiError) as caught:
        run(["--capture-percent", "120"])
    assert caught.value.code == "invalid_capture_percent"


@pytest.mark.parametrize("argv", [["--capture-percent", "5", "--stack-capture"],
                                  ["--shadow-alias", "x", "--no-shadow"]])
def test_contradicting_options_are_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["models", "serving", "fare", *argv])


def test_the_view_says_where_the_percentage_comes_from_and_who_set_it():
    console = Console(record=True, width=200, color_system=None)
    serving_view(console, SHOWN)
    shown = console.export_text()
    assert "fare: captures 10% of requests (the stack's default); shadow alias: shadow" in shown
    console = Console(record=True, width=200, color_system=None)
    serving_view(console, {**SHOWN, "capture_percent": 25.0, "effective_capture_percent": 25.0,
                           "shadow_alias": None, "updated_by": "alice",
                           "updated_at": "2026-11-26T00:00:00.000Z", "revision": 3})
    text = console.export_text()
    assert "captures 25% of requests (this model's); shadow alias: none" in text
    assert "set by alice at 2026-11-26T00:00:00.000Z (revision 3)" in text
