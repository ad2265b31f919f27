"""Every resource type of infra/resources.yaml is one the local stack creates or knowingly skips."""

from sluice.local.template import load_template


def test_every_resource_type_in_the_template_is_known_to_the_local_stack():
    from sluice.local.resources import LOCAL_TYPES, NOT_LOCAL_TYPES

    types = {r["Type"] for r in load_template()["Resources"].values()}
    assert types <= set(LOCAL_TYPES) | set(NOT_LOCAL_TYPES), types - set(LOCAL_TYPES)
