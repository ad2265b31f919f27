import pytest

from chalicelib.services.serving import parse_version


@pytest.mark.parametrize("raw", ["+3", " 3", "1_000", "0", "-1", "2.0", ""])
def test_only_plain_positive_integers_name_a_version(raw):
    with pytest.raises(Exception) as caught:
        parse_version(raw)
    assert caught.value.code == "invalid_version"


def test_a_plain_version_is_read():
    assert parse_version("12") == 12
