"""Tiger Tree Hash (THEX), as used by Gnutella and Direct Connect, through LibRHash.

THEX cuts the content into 1024-byte leaves, hashes each as ``Tiger(0x00 || leaf)``, and pairs
nodes upwards as ``Tiger(0x01 || left || right)``; an unpaired node is promoted unchanged. The
empty content hashes to ``Tiger(0x00)``.

Tiger is neither in ``hashlib`` nor in pycryptodome, so Icarus calls Debian's LibRHash
(package ``librhash0``) through :mod:`ctypes`. The library is loaded on first use only: TTH is
computed on request, and Icarus works without it otherwise. ctypes releases the GIL during each
call, so TTH hashing runs in parallel across threads like the other digests.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

from icarus.core.errors import InternalError

RHASH_TTH = 0x20
"""``RHASH_TTH`` of ``enum rhash_ids`` in LibRHash 1.4's ``rhash.h``."""

TTH_SIZE = 24
"""Bytes in a TTH root (a Tiger digest)."""

_SONAMES = ("librhash.so.1", "librhash.so.0")
_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def _load() -> ctypes.CDLL:
    global _lib
    with _lock:
        if _lib is not None:
            return _lib
        names = [n for n in (ctypes.util.find_library("rhash"),) if n] + list(_SONAMES)
        errors = []
        for name in names:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError as exc:
                errors.append(f"{name}: {exc}")
        else:
            raise InternalError(
                "TTH needs LibRHash, which could not be loaded ("
                + "; ".join(errors)
                + "); install the Debian package 'librhash0' (apt-get install librhash0)"
            )
        lib.rhash_library_init.argtypes = []
        lib.rhash_library_init.restype = None
        lib.rhash_init.argtypes = [ctypes.c_uint]
        lib.rhash_init.restype = ctypes.c_void_p
        lib.rhash_update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.rhash_update.restype = ctypes.c_int
        lib.rhash_final.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.rhash_final.restype = ctypes.c_int
        lib.rhash_free.argtypes = [ctypes.c_void_p]
        lib.rhash_free.restype = None
        lib.rhash_library_init()
        _lib = lib
        return lib


def require_tth() -> None:
    """Load LibRHash now; raises :class:`InternalError` naming the Debian package if absent."""
    _load()


def tth_available() -> bool:
    """True when LibRHash can be loaded, i.e. when TTH can be computed here."""
    try:
        _load()
    except InternalError:
        return False
    return True


class TthHasher:
    """Incremental TTH: :meth:`update` with pieces of any size, then :meth:`digest`.

    Raises :class:`InternalError` naming the Debian package to install when LibRHash is absent.
    """

    __slots__ = ("_ctx", "_lib", "_result")

    def __init__(self) -> None:
        self._lib = _load()
        self._result: bytes | None = None
        ctx = self._lib.rhash_init(RHASH_TTH)
        if not ctx:
            raise InternalError("LibRHash could not create a TTH context (rhash_init failed)")
        self._ctx: int | None = ctx

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add ``data`` to the content hashed so far."""
        if self._ctx is None:
            raise InternalError("TTH hasher updated after its digest was taken")
        view = memoryview(data)
        size = view.nbytes
        if size == 0:
            return
        if isinstance(data, bytes):
            status = self._lib.rhash_update(self._ctx, data, size)
        elif view.readonly:
            status = self._lib.rhash_update(self._ctx, bytes(view), size)
        else:
            # A writable buffer is passed by address: no copy of the (reused) read buffer.
            array = (ctypes.c_char * size).from_buffer(view)
            status = self._lib.rhash_update(self._ctx, ctypes.addressof(array), size)
            del array
        if status != 0:
            raise InternalError(f"LibRHash rhash_update failed with status {status}")

    def digest(self) -> bytes:
        """The 24-byte TTH root of everything fed; no update is accepted afterwards."""
        if self._result is not None:
            return self._result
        if self._ctx is None:
            raise InternalError("TTH context is gone")
        out = ctypes.create_string_buffer(64)
        status = self._lib.rhash_final(self._ctx, out)
        self._free()
        if status != 0:
            raise InternalError(f"LibRHash rhash_final failed with status {status}")
        self._result = out.raw[:TTH_SIZE]
        return self._result

    def _free(self) -> None:
        if self._ctx is not None:
            self._lib.rhash_free(self._ctx)
            self._ctx = None

    def __del__(self) -> None:
        # A hasher abandoned mid-file (read error) must not leak its C context.
        if getattr(self, "_ctx", None) is not None:
            self._free()


def tth_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """The TTH root of ``data`` held in memory."""
    hasher = TthHasher()
    hasher.update(data)
    return hasher.digest()
