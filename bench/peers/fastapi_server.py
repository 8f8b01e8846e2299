#!/usr/bin/python3
"""A hand-written inference server of the kind a team builds with Python.

FastAPI + uvicorn + torch serve the add_sub model of tests/models/add_sub.onnx
(FP32 INPUT0, INPUT1 [-1,16] -> OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 -
INPUT1) over the KServe v2 REST protocol with JSON bodies only. torch cannot
load ONNX files, so the model is written in torch, as such a team would. It is
a benchmark peer for Moat, not a product, and listens on 127.0.0.1 only.

Usage (Debian's interpreter, after scripts/install-bench-deps.sh):
    /usr/bin/python3 bench/peers/fastapi_server.py --port 8002 [--workers 1]
        [--torch-threads N]
--port 0 lets the OS pick a free port (one worker only); uvicorn logs the port
it bound.
"""

import argparse
import os
import sys
from typing import Any, List, Optional

import torch
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

HOST = "127.0.0.1"
MODEL_NAME = "add_sub"
WIDTH = 16
INPUT_NAMES = ("INPUT0", "INPUT1")
OUTPUT_NAMES = ("OUTPUT0", "OUTPUT1")
BINARY_UNSUPPORTED = "binary tensor data is not supported by this server; send JSON (moat bench --http-json)"
METADATA = {
    "name": MODEL_NAME,
    "versions": ["1"],
    "platform": "pytorch",
    "inputs": [{"name": n, "datatype": "FP32", "shape": [-1, WIDTH]} for n in INPUT_NAMES],
    "outputs": [{"name": n, "datatype": "FP32", "shape": [-1, WIDTH]} for n in OUTPUT_NAMES],
}



class InputTensor(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[Any]


class RequestedOutput(BaseModel):
    name: str


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InputTensor]
    outputs: Optional[List[RequestedOutput]] = None


class BadRequest(Exception):
    pass


class AddSub(torch.nn.Module):
    """Returns the element-wise sum and difference of two [batch, 16] tensors."""

    def forward(self, a: torch.Tensor, b: torch.Tensor):
        return a + b, a - b


def to_tensor(tensor: InputTensor) -> torch.Tensor:
    """Build the torch tensor for one JSON input after checking it against the model's metadata."""
    if tensor.datatype != "FP32":
        raise BadRequest(f"input {tensor.name} has datatype {tensor.datatype}, expected FP32")
    shape = tensor.shape
    if len(shape) != 2 or shape[0] < 0 or shape[1] != WIDTH:
        raise BadRequest(f"input {tensor.name} has shape {shape}, expected [-1, {WIDTH}]")
    try:
        values = torch.tensor(tensor.data, dtype=torch.float32).flatten()
    except (TypeError, ValueError) as err:
        raise BadRequest(f"input {tensor.name} has data that is not a list of numbers: {err}")
    if values.numel() != shape[0] * shape[1]:
        raise BadRequest(
            f"input {tensor.name} has {values.numel()} elements, shape {shape} needs {shape[0] * shape[1]}")
    return values.reshape(shape)


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def create_app() -> FastAPI:
    threads = int(os.environ.get("FASTAPI_PEER_TORCH_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)
    model = AddSub().eval()
    app = FastAPI()

    # A binary tensor body fails JSON validation before the route runs, so the
    # binary extension is reported here as well as in the route.
    @app.exception_handler(RequestValidationError)
    async def on_invalid_body(request: Request, err: RequestValidationError):
        if request.headers.get("inference-header-content-length") is not None:
            return error_response(400, BINARY_UNSUPPORTED)
        return error_response(400, f"request body is invalid: {err.errors()}")

    @app.exception_handler(BadRequest)
    async def on_bad_request(_request: Request, err: BadRequest):
        return error_response(400, str(err))

    @app.get("/v2/health/ready")
    @app.get("/v2/health/live")
    @app.get(f"/v2/models/{MODEL_NAME}/ready")
    async def ready():
        return Response(status_code=200)

    @app.get(f"/v2/models/{MODEL_NAME}")
    async def metadata():
        return METADATA

    # FastAPI runs a plain `def` route in its thread pool, so the blocking torch
    # call does not stall the event loop.
    @app.post(f"/v2/models/{MODEL_NAME}/infer")
    def infer(body: InferRequest, request: Request):
        if request.headers.get("inference-header-content-length") is not None:
            raise BadRequest(BINARY_UNSUPPORTED)
        tensors = {}
        for tensor in body.inputs:
            if tensor.name not in INPUT_NAMES:
                raise BadRequest(f"input {tensor.name} is not an input of model {MODEL_NAME}")
            if tensor.name in tensors:
                raise BadRequest(f"input {tensor.name} appears twice")
            tensors[tensor.name] = to_tensor(tensor)
        for name in INPUT_NAMES:
            if name not in tensors:
                raise BadRequest(f"input {name} is missing")
        if tensors["INPUT0"].shape != tensors["INPUT1"].shape:
            raise BadRequest(
                f"inputs INPUT0 {list(tensors['INPUT0'].shape)} and INPUT1 {list(tensors['INPUT1'].shape)} "
                "must have the same shape")

        wanted = list(OUTPUT_NAMES)
        if body.outputs is not None:
            wanted = [o.name for o in body.outputs]
            for name in wanted:
                if name not in OUTPUT_NAMES:
                    raise BadRequest(f"output {name} is not an output of model {MODEL_NAME}")

        with torch.inference_mode():
            results = dict(zip(OUTPUT_NAMES, model(tensors["INPUT0"], tensors["INPUT1"])))
        outputs = [{
            "name": name,
            "datatype": "FP32",
            "shape": list(results[name].shape),
            "data": results[name].flatten().tolist(),
        } for name in wanted]
        response = {"model_name": MODEL_NAME, "model_version": "1", "outputs": outputs}
        if body.id is not None:
            response["id"] = body.id
        return response

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description="FastAPI + torch KServe v2 peer serving add_sub on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on; 0 picks a free one")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch intra-op threads per worker; 0 keeps torch's default")
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535, got {args.port}")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.workers > 1 and args.port == 0:
        parser.error("--port 0 works with one worker only, because each worker would bind its own port")

    # Worker processes build the app from the import string, so the settings
    # travel to them in the environment.
    os.environ["FASTAPI_PEER_TORCH_THREADS"] = str(args.torch_threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    # Importing this file as a module would leave a __pycache__ folder in the source tree.
    sys.dont_write_bytecode = True
    uvicorn.run(
        "fastapi_server:create_app",
        factory=True,
        host=HOST,
        port=args.port,
        workers=args.workers,
        # Longer than uvicorn's 5-second default, so a load generator's idle
        # keep-alive connections stay open between bursts.
        timeout_keep_alive=75,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
