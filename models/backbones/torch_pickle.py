"""Read a legacy (pre-zip, torch < 1.6) ``torch.save`` file without torch.

The legacy layout is a sequence of pickles followed by raw bytes:

1. magic number, 2. protocol version (1001), 3. a sys-info dict,
4. the object itself, whose tensors reference storages via persistent ids
   ``('storage', StorageType, key, location, numel, view_metadata)``,
5. the sorted list of storage keys, then for each key in that order an
   int64 element count followed by the storage's raw little-endian bytes.

Tensors are rebuilt as numpy arrays after all storages have been read,
because the object pickle comes before the bytes it points into.
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path

import numpy as np

from devise.core.errors import BackboneError

_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL = 1001

# Element types are fixed by the storage class, not by the saver's C `long`
# (files written on Windows report long=4 yet LongStorage is still 8 bytes).
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        if name not in _STORAGE_DTYPES:
            raise KeyError(name)
        self.dtype = np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


class _TensorRef:
    """Placeholder for a tensor until its storage bytes have been read."""

    def __init__(self, key, offset, size, stride):
        self.key, self.offset = key, offset
        self.size, self.stride = tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


class _Unpickler(pickle.Unpickler):
    # Only the handful of globals a state dict needs are resolvable, so a
    # hostile file cannot make pickle import or call anything else.
    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return type(name, (), {})  # a marker; its __name__ picks the dtype
        raise pickle.UnpicklingError(f"unsupported global {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid[:6]
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        self.storage_types[key] = (_StorageType(storage_type.__name__), int(numel))
        return key


def _fail(path, why) -> BackboneError:
    return BackboneError(f"{path} is not a readable legacy torch weights file ({why}).")


def load_legacy_torch_state_dict(path) -> dict[str, np.ndarray]:
    """Return ``{name: ndarray}`` for a legacy torch-pickled state dict."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _load(f, path)
    except BackboneError:
        raise
    except OSError as exc:
        raise BackboneError(f"cannot read weights file {path}: {exc.strerror or exc}.") from exc
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, TypeError,
            AttributeError, IndexError, struct.error) as exc:
        raise _fail(path, f"{type(exc).__name__}: {exc}") from exc


def _load(f, path) -> dict[str, np.ndarray]:
    if f.read(2) == b"PK":
        raise _fail(path, "it is a zip-format torch file, expected the legacy format")
    f.seek(0)
    if pickle.load(f) != _MAGIC:
        raise _fail(path, "bad magic number")
    if pickle.load(f) != _PROTOCOL:
        raise _fail(path, "unsupported protocol version")
    sys_info = pickle.load(f)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise _fail(path, "big-endian files are not supported")

    unpickler = _Unpickler(f)
    unpickler.storage_types = {}
    obj = unpickler.load()
    keys = pickle.load(f)

    storages = {}
    for key in keys:
        storage_type, numel = unpickler.storage_types[key]
        header = f.read(8)
        if len(header) != 8:
            raise _fail(path, "truncated storage data")
        (count,) = struct.unpack("<q", header)
        if count != numel:
            raise _fail(path, f"storage {key} has {count} elements, expected {numel}")
        nbytes = count * storage_type.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise _fail(path, "truncated storage data")
        storages[key] = np.frombuffer(raw, dtype=storage_type.dtype)

    if not isinstance(obj, dict):
        raise _fail(path, f"top-level object is {type(obj).__name__}, not a state dict")
    out = {}
    for name, ref in obj.items():
        if not isinstance(ref, _TensorRef):
            continue  # e.g. "_metadata" or plain Python values
        flat = storages[ref.key]
        itemsize = flat.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(
            flat[ref.offset:], shape=ref.size,
            strides=[s * itemsize for s in ref.stride], writeable=False)
        # Copy into a native-endian C-ordered array that owns its memory
        # (np.array, not ascontiguousarray, which would turn 0-d into 1-d).
        out[name] = np.array(arr, dtype=flat.dtype.newbyteorder("="), order="C")
    return out
