"""Real tables as users' files come: keyed by their date, saved as UTF-16 by a spreadsheet."""

from __future__ import annotations

import pytest

from tests.functional.corpus.cases import BY_NAME, DATE_KEYED
from tests.functional.corpus.checks import date_key_failures, raise_for, utf16_failures
from tests.functional.corpus.loop import upload_keyed_by, utf16_export

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name, key", [pytest.param(n, k, id=n) for n, k in DATE_KEYED])
def test_a_clean_table_keyed_by_its_date_passes_validation(name, key, client, moto_world):
    case = BY_NAME[name]
    frame = case.frame()
    assert frame[key].is_unique and frame[key].notna().all()  # the key really is one
    version = upload_keyed_by(client, moto_world.bucket, moto_world.invoke_queue_url, case, key)
    raise_for(date_key_failures(version))


def test_a_utf16_export_of_a_real_table_is_named_for_its_encoding(client, moto_world):
    result = utf16_export(client, moto_world.bucket, moto_world.invoke_queue_url, BY_NAME["diabetes"])
    raise_for(utf16_failures(result))
