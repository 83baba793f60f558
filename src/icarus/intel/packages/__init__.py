"""Intelligence packages: one signed document and its reports per country (issue #4).

See docs/formats/package-v1.md. :func:`write_packages` builds and writes them from an
analysed results folder; :func:`verify` checks one.
"""

from __future__ import annotations

from icarus.intel.packages.build import FILES, WrittenPackage, build_packages, write_packages
from icarus.intel.packages.model import FORMAT, VERSION, Package, canonical_bytes, to_document
from icarus.intel.packages.sign import (
    default_key_path,
    key_id,
    load_or_create_key,
    load_public_key,
    sign_document,
)
from icarus.intel.packages.verify import VerifyReport, verify

__all__ = ["FILES", "FORMAT", "VERSION", "Package", "VerifyReport", "WrittenPackage",
           "build_packages", "canonical_bytes", "default_key_path", "key_id",
           "load_or_create_key", "load_public_key", "sign_document", "to_document", "verify",
           "write_packages"]
