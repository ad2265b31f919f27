import pytest

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.settings import Settings


def test_explicit_argument_beats_environment_which_beats_default():
    env = {"SLUICE_BUCKET": "from-env", "SLUICE_CAPTURE_PERCENT": "12.5"}
    settings = Settings.from_env(env, bucket="explicit")
    assert settings.bucket == "explicit"
    assert settings.capture_percent == 12.5
    assert settings.table == Settings().table  # default


def test_region_falls_back_to_aws_default_region():
    assert Settings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    assert Settings.from_env({"AWS_REGION": "eu-central-1",
                              "AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-central-1"


def test_a_malformed_number_in_the_environment_is_a_configuration_error():
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"SLUICE_ALIAS_TTL_SECONDS": "soon"})
    assert caught.value.code == "configuration_error"
    assert "alias_ttl_seconds" in caught.value.message


def test_function_names_follow_the_prefix_unless_named_explicitly():
    settings = Settings.from_env({"SLUICE_FUNCTION_PREFIX": "sluice-dev-"})
    assert settings.function_name("train", {}) == "sluice-dev-train"
    assert settings.function_name("train", {"SLUICE_FUNCTION_TRAIN": "arn:x"}) == "arn:x"
