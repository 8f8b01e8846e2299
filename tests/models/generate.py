#!/usr/bin/python3
"""Writes the tiny ONNX models that the tests serve.

Run with Debian's interpreter, which has python3-onnx:
    /usr/bin/python3 tests/models/generate.py tests/models
The outputs are committed, so the tests do not need python3-onnx.
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

# KServe v2 datatype name -> ONNX element type.
DATATYPES = {
    "BOOL": TensorProto.BOOL,
    "UINT8": TensorProto.UINT8,
    "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32,
    "UINT64": TensorProto.UINT64,
    "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16,
    "BF16": TensorProto.BFLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def save(model, path):
    # Opset 17 and IR version 8 are what onnx 1.12 writes; ONNX Runtime 1.29 reads both.
    onnx.checker.check_model(model)
    onnx.save(model, path)


def identity(datatype, elem_type):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["INPUT0"], ["OUTPUT0"])],
        "identity_" + datatype.lower(),
        [helper.make_tensor_value_info("INPUT0", elem_type, ["batch", "n"])],
        [helper.make_tensor_value_info("OUTPUT0", elem_type, ["batch", "n"])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="moat-tests")


def add_sub():
    """Two FP32 inputs of shape [-1, 16]; OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
            helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"]),
        ],
        "add_sub",
        [
            helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", 16]),
            helper.make_tensor_value_info("INPUT1", TensorProto.FLOAT, ["batch", 16]),
        ],
        [
            helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", 16]),
            helper.make_tensor_value_info("OUTPUT1", TensorProto.FLOAT, ["batch", 16]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="moat-tests")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for datatype, elem_type in DATATYPES.items():
        save(identity(datatype, elem_type), os.path.join(out, "identity_%s.onnx" % datatype.lower()))
    save(add_sub(), os.path.join(out, "add_sub.onnx"))


if __name__ == "__main__":
    main()
