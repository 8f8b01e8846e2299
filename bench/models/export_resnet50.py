#!/usr/bin/python3
"""Export torchvision's ResNet-50 with random weights to ONNX for the benchmark.

Nothing is downloaded: the weights come from a fixed seed, so the same torch
and torchvision versions write the same file. The model takes `input`, FP32
[batch, 3, 224, 224], and returns `output`, FP32 [batch, 1000], with a dynamic
batch dimension. Random weights cost the same compute as trained ones, which
is all a latency benchmark measures.

Usage (Debian's python3-torch and python3-torchvision):
    /usr/bin/python3 bench/models/export_resnet50.py OUT.onnx [--opset N]
"""

import argparse
import sys

import torch
import torchvision

SEED = 20240601
# The default opset of Debian 12's torch 1.13.1 exporter, which writes opsets
# 9 to 17. ResNet-50 exports without warnings at 13, 14 and 17, and ONNX
# Runtime 1.29 loads those files.
DEFAULT_OPSET = 14


def main() -> int:
    parser = argparse.ArgumentParser(description="Export a random-weight ResNet-50 to ONNX.")
    parser.add_argument("output", help="path of the .onnx file to write")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help=f"ONNX opset version (default {DEFAULT_OPSET})")
    args = parser.parse_args()

    torch.manual_seed(SEED)
    model = torchvision.models.resnet50(weights=None).eval()
    example = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(
            model,
            example,
            args.output,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=args.opset,
            do_constant_folding=True,
        )
    print(f"export_resnet50: wrote {args.output} (opset {args.opset}, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
