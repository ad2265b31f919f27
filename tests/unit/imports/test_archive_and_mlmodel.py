"""An MLflow directory's archive is read in memory and refused when a member could escape or hide; its
MLmodel says which file holds the model and whether loading it runs code."""

from __future__ import annotations

import io
import tarfile

import pytest

from chalicelib.core.imports.archive import model_folder, read_archive
from chalicelib.core.imports.errors import ImportInvalidError, ImportTooLargeError
from chalicelib.core.imports.mlmodel import parse_mlmodel

MLMODEL = b"""flavors:
  sklearn:
    pickled_model: model.skops
    serialization_format: skops
    sklearn_version: 1.9.1
signature:
  inputs: '[{"type": "double", "name": "distance_km", "required": true}, {"type": "string", "name": "zone"}]'
"""


def tar(*members: tuple[str, bytes | None, bytes]) -> bytes:
    """``(name, content, kind)``; kind ``SYMTYPE``/``LNKTYPE`` links to ``content``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = (content or b"").decode()
                archive.addfile(info)
            else:
                info.size = len(content or b"")
                archive.addfile(info, io.BytesIO(content or b""))
    return buffer.getvalue()


def test_a_model_directory_is_read_from_its_root_or_one_top_folder():
    files = read_archive(tar(("model/MLmodel", MLMODEL, tarfile.REGTYPE),
                             ("model/model.skops", b"zip", tarfile.REGTYPE)))
    assert model_folder(files) == "model/" and files["model/model.skops"] == b"zip"
    assert model_folder(read_archive(tar(("./MLmodel", MLMODEL, tarfile.REGTYPE)))) == ""


@pytest.mark.parametrize(("name", "content", "kind", "says"), [
    ("/etc/MLmodel", MLMODEL, tarfile.REGTYPE, "absolute path"),
    ("model/../../MLmodel", MLMODEL, tarfile.REGTYPE, "climbs out"),
    ("model/model.skops", b"/etc/passwd", tarfile.SYMTYPE, "symbolic link"),
    ("model/model.skops", b"model/MLmodel", tarfile.LNKTYPE, "hard link"),
    ("model/fifo", b"", tarfile.FIFOTYPE, "not a file"),
])
def test_a_member_that_could_escape_or_hide_is_refused_by_name(name, content, kind, says):
    with pytest.raises(ImportInvalidError) as caught:
        read_archive(tar(("model/MLmodel", MLMODEL, tarfile.REGTYPE), (name, content, kind)))
    assert caught.value.code == "import_archive_invalid" and says in caught.value.message


def test_an_archive_past_the_limits_is_refused_before_its_content_is_held():
    big = tar(("MLmodel", MLMODEL, tarfile.REGTYPE), ("model.skops", b"\0" * 10_000, tarfile.REGTYPE))
    with pytest.raises(ImportTooLargeError):
        read_archive(big, max_bytes=5_000)
    with pytest.raises(ImportTooLargeError):
        read_archive(big, max_members=1)
    with pytest.raises(ImportInvalidError) as caught:
        read_archive(b"not a tar at all")
    assert caught.value.code == "import_archive_invalid"


def test_mlmodel_gives_the_model_file_its_serialisation_and_the_signature_as_contract_types():
    model = parse_mlmodel(MLMODEL)
    assert (model.model_file, model.serialization_format, model.pickled) == ("model.skops", "skops", False)
    assert model.inputs == [{"name": "distance_km", "type": "float"}, {"name": "zone", "type": "string"}]
    pickled = parse_mlmodel(b"flavors: {sklearn: {pickled_model: model.pkl}}")
    assert pickled.serialization_format == "cloudpickle" and pickled.pickled  # mlflow's old default


@pytest.mark.parametrize("text", [b"flavors: {python_function: {}}",
                                  b"flavors: {sklearn: {pickled_model: ../x}}",
                                  b"flavors: {sklearn: {pickled_model: m, serialization_format: marshal}}",
                                  b"!!python/object/apply:os.system ['true']"])
def test_an_mlmodel_sluice_cannot_import_is_refused(text):
    with pytest.raises(ImportInvalidError) as caught:
        parse_mlmodel(text)
    assert caught.value.code == "import_mlmodel_invalid"


def test_input_columns_must_be_contract_features_and_not_pii_nor_the_target():
    from chalicelib.core.imports.schema import contract_features, input_columns
    from chalicelib.core.validation.contract import parse_contract
    from tests.unit.training.conftest import CONTRACT

    contract = parse_contract(CONTRACT)
    features = contract_features(["distance_km", "zone"], contract, "tipped")
    assert [f.type for f in features] == ["float", "category"]
    with pytest.raises(ImportInvalidError) as caught:
        contract_features(["rider_email", "tipped", "nope"], contract, "tipped")
    assert caught.value.code == "import_schema_mismatch" and len(caught.value.details["problems"]) == 3
    assert input_columns(None, 2, ["a", "b"]) == ["a", "b"]
    with pytest.raises(ImportInvalidError, match="fitted on an array"):
        input_columns(None, 2, None)
    with pytest.raises(ImportInvalidError, match="differ"):
        input_columns(["a", "b"], 2, ["a", "c"])
