"""The real-data corpus, statsmodels' cross-sectional tables (the later slice is the file's last 30 %):
each table through sluice's routes, every verdict equal to its reference (docs/corpus.md;
``python -m tests.functional.corpus.table`` prints them)."""

from __future__ import annotations

import pytest

from tests.functional.corpus.cases import CROSS_SECTIONS
from tests.functional.corpus.checks import evaluate, raise_for
from tests.functional.corpus.known import params
from tests.functional.corpus.loop import run_case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", params(CROSS_SECTIONS))
def test_a_real_table_gets_the_verdicts_its_references_give(case, client, moto_world):
    record = run_case(client, moto_world.bucket, moto_world.invoke_queue_url, case)
    raise_for(evaluate(record))
