"""The archive an MLflow model directory travels in (``sluice models import`` packs it as a gzipped tar).

Read in memory, never extracted to disk, and refused (``import_archive_invalid``) when a member could
escape or hide: an absolute path, a ``..`` part, a symbolic or hard link, a device or FIFO; and
(``import_too_large``) past :data:`MAX_MEMBERS` members or :data:`MAX_UNPACKED_BYTES` of content — each
member's size is read from its header before its bytes, so a small archive that unpacks into gigabytes
is refused before they are held.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping

from chalicelib.core.imports.errors import ImportInvalidError, ImportTooLargeError

MAX_MEMBERS = 1000
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024  # what the training function can hold beside the loaded model


def _invalid(message: str) -> ImportInvalidError:
    return ImportInvalidError(message, code="import_archive_invalid")


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` may not be read (None when it may): its name and kind, never its content."""
    name = member.name
    if not (member.isfile() or member.isdir()):
        kind = "a symbolic link" if member.issym() else "a hard link" if member.islnk() else "not a file"
        return f"member {name!r} is {kind}"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"member {name!r} has an absolute path"
    if any(part == ".." for part in name.replace("\\", "/").split("/")):
        return f"member {name!r} climbs out of the archive ('..')"
    return None


def read_archive(body: bytes, *, max_members: int = MAX_MEMBERS,
                 max_bytes: int = MAX_UNPACKED_BYTES) -> dict[str, bytes]:
    """The regular files of a (gzipped) tar, by their normalised relative path."""
    files: dict[str, bytes] = {}
    total = members = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
            for member in archive:
                members += 1
                if members > max_members:
                    raise ImportTooLargeError(f"the archive has more than {max_members} members")
                problem = member_problem(member)
                if problem:
                    raise _invalid(problem)
                if member.isdir():
                    continue
                total += member.size
                if total > max_bytes:
                    raise ImportTooLargeError(f"the archive unpacks to more than {max_bytes} bytes")
                handle = archive.extractfile(member)
                files[_normalised(member.name)] = handle.read() if handle else b""
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _invalid(f"the upload is not a tar archive ({type(exc).__name__})") from exc
    return files


def _normalised(name: str) -> str:
    return "/".join(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def model_folder(files: Mapping[str, bytes]) -> str:
    """The folder holding ``MLmodel``: the archive's root, or its one top folder (``""`` or ``"model/"``)."""
    found = sorted(name[: -len("MLmodel")] for name in files if name.rsplit("/", 1)[-1] == "MLmodel")
    if not found:
        raise ImportInvalidError("the archive holds no MLmodel file: pack an MLflow model directory",
                                 code="import_mlmodel_invalid")
    if len(found) > 1 or found[0].count("/") > 1:
        raise ImportInvalidError(f"the archive must hold one MLmodel at its root or in one top folder; found "
                                 f"{', '.join(f + 'MLmodel' for f in found)}", code="import_mlmodel_invalid")
    return found[0]
