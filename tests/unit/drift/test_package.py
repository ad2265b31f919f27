"""The drift package's exports resolve lazily (tests/functional/drift checks what a fresh import loads)."""


def test_the_package_exports_resolve_lazily():
    import chalicelib.core.drift as drift

    assert {name: getattr(drift, name).__name__ for name in ("build_profile", "detect_drift")} == {
        "build_profile": "build_profile", "detect_drift": "detect_drift"}
    assert all(hasattr(drift, name) for name in drift.__all__)
