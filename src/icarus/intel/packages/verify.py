"""Checking a package: its signature, its schema and the rules the schema cannot say."""

from __future__ import annotations

import functools
import importlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from icarus.intel.packages.model import FORMAT, VERSION
from icarus.intel.packages.sign import SIGNATURE_FORMAT, key_id, signature_matches

__all__ = ["VerifyReport", "schema_problems", "verify"]

MAX_SCHEMA_PROBLEMS = 20
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`: ``ok`` when ``problems`` is empty."""

    package: Path
    signature: Path
    key_id: str
    country: str | None
    operation: str | None
    suspects: int | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the signature is valid and the document is a valid package."""
        return not self.problems


def verify(package_path: Path, signature_path: Path, public_key: Ed25519PublicKey,
           ) -> VerifyReport:
    """Check that ``signature_path`` is ``public_key``'s signature of the package's canonical
    bytes, that the document is a valid package of a known schema version, and that every
    suspect is located in the package's country. Never raises for bad input: every fault is a
    sentence of ``problems`` naming the file, field or suspect."""
    problems: list[str] = []
    warnings: list[str] = []
    doc = _load(package_path, "package", problems)
    sig = _load(signature_path, "signature", problems)
    if doc is not None and sig is not None:
        _check_signature(doc, sig, public_key, signature_path, problems)
    elif doc is None and sig is not None:
        problems.append("signature not checked: the package could not be read")
    if isinstance(doc, dict):
        problems += _check_document(doc, warnings)
    elif doc is not None:
        problems.append(f"{package_path}: the document is not a JSON object")
    info = doc if isinstance(doc, dict) else {}
    suspects = info.get("suspects")
    return VerifyReport(package_path, signature_path, key_id(public_key),
                        _str(info.get("country")), _str(info.get("operation")),
                        len(suspects) if isinstance(suspects, list) else None,
                        tuple(problems), tuple(warnings))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _load(path: Path, what: str, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        problems.append(f"{path}: cannot read the {what} ({exc.strerror})")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: the {what} is not valid UTF-8 JSON ({exc}); "
                        "its signature cannot be checked")
    return None


def _check_signature(doc: Any, sig: Any, public_key: Ed25519PublicKey, path: Path,
                     problems: list[str]) -> None:
    if not isinstance(sig, dict) or sig.get("format") != SIGNATURE_FORMAT:
        problems.append(f"{path}: not a package signature (format {SIGNATURE_FORMAT!r})")
        return
    if sig.get("algorithm") != "ed25519":
        problems.append(f"{path}: unknown signature algorithm {sig.get('algorithm')!r}")
        return
    expected = key_id(public_key)
    if sig.get("key_id") != expected:
        problems.append(f"{path}: signature made with key {sig.get('key_id')}, "
                        f"not with the given public key {expected}")
        return
    if not signature_matches(doc, sig, public_key):
        problems.append(f"{path}: bad signature: the package was altered after signing")


def _check_document(doc: dict[str, Any], warnings: list[str]) -> list[str]:
    if doc.get("format") != FORMAT:
        return [f"not an intelligence package: format is {doc.get('format')!r}, "
                f"not {FORMAT!r}"]
    if doc.get("version") != VERSION:
        return [f"unknown schema version {doc.get('version')!r} (this Icarus reads "
                f"version {VERSION})"]
    problems = schema_problems(doc, warnings)
    if problems:
        return problems
    country = doc["country"]
    ids = set()
    for i, suspect in enumerate(doc["suspects"]):
        ids.add(suspect["subject_id"])
        where = suspect["jurisdiction"]["country"]
        if where != country:
            problems.append(f"suspects[{i}] ({suspect['subject_id']}) is located in {where}, "
                            f"not in the package's country {country}")
    summary = doc["summary"]
    if summary["suspects"] != len(doc["suspects"]):
        problems.append(f"summary.suspects is {summary['suspects']} but the package holds "
                        f"{len(doc['suspects'])} suspects")
    events = sum(len(s["timeline"]) for s in doc["suspects"])
    if summary["sightings"] != events:
        problems.append(f"summary.sightings is {summary['sightings']} but the timelines hold "
                        f"{events} sightings")
    problems += [f"summary.top names {sid}, which is not a suspect of the package"
                 for sid in summary["top"] if sid not in ids]
    return problems


@functools.cache
def _schema() -> Any:
    text = resources.files("icarus").joinpath("data", "schemas",
                                              "package-v1.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.cache
def _fast_validator() -> Any:
    return jsonschema_rs.validator_for(_schema())


def schema_problems(doc: Any, warnings: list[str] | None = None) -> list[str]:
    """``doc``'s violations of package-v1.schema.json, each naming the field (at most
    :data:`MAX_SCHEMA_PROBLEMS`). A valid document is recognised by jsonschema-rs (fast); the
    problems of an invalid one are named by ``jsonschema``."""
    if _fast_validator().is_valid(doc):  # the common case, ~200x faster than jsonschema
        return []
    try:  # imported by name: jsonschema ships no type stubs
        jsonschema: Any = importlib.import_module("jsonschema")
    except ImportError:
        if warnings is not None:
            warnings.append("jsonschema is not installed: the problems cannot be named")
        return ["the document does not match package-v1.schema.json"]
    validator = jsonschema.Draft202012Validator(_schema())  # names each problem's field
    out = []
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors[:MAX_SCHEMA_PROBLEMS]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        where = where.lstrip(".")
        missing = _REQUIRED.match(error.message) if error.validator == "required" else None
        if missing:
            field = f"{where}.{missing.group(1)}" if where else missing.group(1)
            out.append(f"missing field '{field}'")
        else:
            out.append(f"field '{where or '(document)'}': {error.message}")
    return out
