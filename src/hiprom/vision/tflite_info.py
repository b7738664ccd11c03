"""What a TensorFlow Lite model takes and gives, and whether a pose bundle's members are
the models their names say.

Shapes are read straight from the ``.tflite`` flatbuffer (no TensorFlow, no MediaPipe), so
a pose model bundle is checked by content before MediaPipe loads it
(:func:`hiprom.vision.model_store.validate_model_file` calls :func:`pose_bundle_problem`):
a bundle with its two models swapped would otherwise fail inside MediaPipe with a traceback.

Flatbuffer layout used (schema ``tflite/schema.fbs``): the file starts with the root
table's offset (u32) and the identifier ``TFL3``. A table starts with an i32 offset back to
its vtable, whose u16 entries give each field's offset in the table (0 = absent). A
vector field holds a u32 offset to ``[u32 length, elements...]``; a vector of tables holds
u32 offsets to the tables. ``Model.subgraphs`` is field 2, ``SubGraph.tensors/inputs/
outputs`` fields 0/1/2, ``Tensor.shape`` field 0. All little-endian.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

__all__ = ["TfliteIO", "read_tflite_io", "TfliteError", "MEMBER_ROLES", "pose_bundle_problem"]


class TfliteError(ValueError):
    """The bytes are not a TensorFlow Lite model this reader understands."""


@dataclass(frozen=True)
class TfliteIO:
    """Shapes of the first subgraph's input and output tensors, e.g. ``[(1, 224, 224, 3)]``."""

    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]


def _u32(b: bytes, p: int) -> int:
    return struct.unpack_from("<I", b, p)[0]


def _field(b: bytes, table: int, index: int) -> int | None:
    """Position of field ``index`` of the table at ``table`` (None when absent)."""
    vtable = table - struct.unpack_from("<i", b, table)[0]
    size = struct.unpack_from("<H", b, vtable)[0]
    if 4 + 2 * index >= size:
        return None
    offset = struct.unpack_from("<H", b, vtable + 4 + 2 * index)[0]
    return table + offset if offset else None


def _vector(b: bytes, field: int | None) -> tuple[int, int]:
    """``(first element position, length)`` of the vector a field points to."""
    if field is None:
        return 0, 0
    start = field + _u32(b, field)
    return start + 4, _u32(b, start)


def _tables(b: bytes, field: int | None) -> list[int]:
    first, n = _vector(b, field)
    return [first + 4 * k + _u32(b, first + 4 * k) for k in range(n)]


def _ints(b: bytes, field: int | None) -> tuple[int, ...]:
    first, n = _vector(b, field)
    return tuple(struct.unpack_from(f"<{n}i", b, first)) if n else ()


def read_tflite_io(data: bytes) -> TfliteIO:
    """The input and output shapes of a ``.tflite`` model's first subgraph.

    Raises
    ------
    TfliteError
        Not a TFLite flatbuffer (no ``TFL3`` identifier) or a damaged one.
    """
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TfliteError("not a TensorFlow Lite model (no TFL3 identifier)")
    try:
        root = _u32(data, 0)
        subgraphs = _tables(data, _field(data, root, 2))
        if not subgraphs:
            raise TfliteError("a TensorFlow Lite model without a subgraph")
        graph = subgraphs[0]
        tensors = _tables(data, _field(data, graph, 0))
        shapes = [_ints(data, _field(data, t, 0)) for t in tensors]
        ins = tuple(shapes[i] for i in _ints(data, _field(data, graph, 1)))
        outs = tuple(shapes[i] for i in _ints(data, _field(data, graph, 2)))
    except (struct.error, IndexError) as exc:
        raise TfliteError(f"a damaged TensorFlow Lite model ({exc})") from None
    return TfliteIO(ins, outs)


#: What each member of a pose landmarker bundle is, told by its tensors rather than its name
#: (the official lite, full and heavy bundles): the person detector takes a 224×224 RGB
#: image and gives N candidate boxes of 12 numbers each (box and 4 key points); the landmark
#: model takes the 256×256 crop and gives 39 landmarks × 5 numbers (195).
MEMBER_ROLES = {"pose_detector.tflite": "the person detector", "pose_landmarks_detector.tflite": "the landmark model"}


def _role(io: TfliteIO) -> str | None:
    if any(len(shape) == 3 and shape[-1] == 12 for shape in io.outputs):
        return "the person detector"
    if any(math.prod(shape) == 195 for shape in io.outputs):
        return "the landmark model"
    return None


def _input_text(io: TfliteIO) -> str:
    shape = io.inputs[0] if io.inputs else ()
    return f"{shape[1]}×{shape[2]} input" if len(shape) == 4 else f"input {'×'.join(map(str, shape)) or 'none'}"


def pose_bundle_problem(members: dict[str, bytes]) -> str | None:
    """Why the bundle's ``.tflite`` members are not the two pose models under their own
    names (None when they are); read from each member's tensors (:data:`MEMBER_ROLES`)."""
    found = {}
    for name, data in members.items():
        try:
            io = read_tflite_io(data)
        except TfliteError as exc:
            return f"a bundle whose {name} is {exc}"
        found[name] = (_role(io), _input_text(io))
    if all(found[n][0] not in (None, want) for n, want in MEMBER_ROLES.items()):
        return ("a bundle whose two models are swapped: "
                + " and ".join(f"{n} holds {found[n][0]} ({found[n][1]})" for n in MEMBER_ROLES))
    for name, want in MEMBER_ROLES.items():
        role, size = found[name]
        if role != want:
            return f"a bundle whose {name} is {role or 'not a pose model'} ({size}), not {want}"
    return None
