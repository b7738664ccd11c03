"""Tiny TensorFlow Lite flatbuffers for tests: only the tensor shapes a bundle check reads.

``tiny_tflite([(1, 224, 224, 3)], [(1, 2254, 12), (1, 2254, 1)])`` is a model file with one
subgraph whose input and output tensors have those shapes (no operators, no weights):
enough for :func:`hiprom.vision.tflite_info.read_tflite_io`, not for MediaPipe.
"""

from __future__ import annotations

import flatbuffers

#: The tensor shapes of the official pose landmarker bundle's two members.
POSE_MEMBERS = {
    "pose_detector.tflite": ([(1, 224, 224, 3)], [(1, 2254, 12), (1, 2254, 1)]),
    "pose_landmarks_detector.tflite": ([(1, 256, 256, 3)], [(1, 195), (1, 1), (1, 256, 256, 1), (1, 64, 64, 39),
                                                             (1, 117)]),
}


def tiny_tflite(inputs, outputs) -> bytes:
    b = flatbuffers.Builder(512)

    def ints(values) -> int:
        b.StartVector(4, len(values), 4)
        for v in reversed(list(values)):
            b.PrependInt32(int(v))
        return b.EndVector()

    def tables(offsets) -> int:
        b.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    shapes = [*inputs, *outputs]
    tensors = []
    for shape in shapes:
        vec = ints(shape)
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, vec, 0)
        tensors.append(b.EndObject())
    tensor_vec, in_vec = tables(tensors), ints(range(len(inputs)))
    out_vec = ints(range(len(inputs), len(shapes)))
    b.StartObject(3)
    b.PrependUOffsetTRelativeSlot(0, tensor_vec, 0)
    b.PrependUOffsetTRelativeSlot(1, in_vec, 0)
    b.PrependUOffsetTRelativeSlot(2, out_vec, 0)
    graphs = tables([b.EndObject()])
    b.StartObject(3)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(2, graphs, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    return bytes(b.Output())


def pose_member(name: str) -> bytes:
    """A tiny stand-in for the bundle member ``name`` (its real tensor shapes)."""
    return tiny_tflite(*POSE_MEMBERS[name])
