"""Ed25519 keys and detached signatures of packages (docs/formats/package-v1.md).

The signature covers the package's canonical bytes (:func:`model.canonical_bytes`); the
signature file names the key by its id, the SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from icarus.core.errors import InputError
from icarus.core.settings import Settings
from icarus.intel.packages.model import canonical_bytes

__all__ = ["SIGNATURE_FORMAT", "default_key_path", "key_id", "load_or_create_key",
           "load_public_key", "public_key_pem", "sign_document", "signature_matches"]

SIGNATURE_FORMAT = "icarus-package-signature"
ALGORITHM = "ed25519"


def default_key_path(settings: Settings) -> Path:
    """``<home>/keys/packages-ed25519.pem``."""
    return settings.home / "keys" / "packages-ed25519.pem"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path`` (PKCS#8 PEM, unencrypted); created with mode 0600 if absent.

    Raises :class:`InputError` when the file exists but holds no Ed25519 private key.
    """
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise InputError(f"not an unencrypted PEM private key ({exc})", path=path) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError("not an Ed25519 private key", path=path)
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # O_EXCL and the mode at creation: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    path.with_name(path.stem + ".pub.pem").write_bytes(public_key_pem(key.public_key()))
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """The SubjectPublicKeyInfo PEM of ``public_key`` (what is given to recipients)."""
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key of a PEM file holding a public key or a private key."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the key ({exc.strerror})", path=path) from exc
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if isinstance(private, Ed25519PrivateKey):
                return private.public_key()
        else:
            public = serialization.load_pem_public_key(data)
            if isinstance(public, Ed25519PublicKey):
                return public
    except (ValueError, TypeError) as exc:
        raise InputError(f"not a PEM key ({exc})", path=path) from exc
    raise InputError("not an Ed25519 key", path=path)


def key_id(public_key: Ed25519PublicKey) -> str:
    """Lower-case hex SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_document(document: Any, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signature document of ``document``: format, algorithm, key id, the SHA-256 of the
    canonical bytes and the base64 Ed25519 signature over them (Ed25519 is deterministic)."""
    data = canonical_bytes(document)
    return {"format": SIGNATURE_FORMAT, "version": 1, "algorithm": ALGORITHM,
            "key_id": key_id(key.public_key()), "signed_sha256": hashlib.sha256(data).hexdigest(),
            "signature": base64.b64encode(key.sign(data)).decode("ascii")}


def signature_matches(document: Any, signature: dict[str, Any],
                      public_key: Ed25519PublicKey) -> bool:
    """Whether ``signature`` (a signature document) is a valid signature of ``document``'s
    canonical bytes by ``public_key``."""
    try:
        raw = base64.b64decode(str(signature.get("signature", "")), validate=True)
        public_key.verify(raw, canonical_bytes(document))
    except (InvalidSignature, ValueError):
        return False
    return True
