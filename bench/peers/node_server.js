#!/usr/bin/env node
// A hand-written inference server of the kind a team builds with Node.js:
// the `http` module and onnxruntime-node, serving one ONNX model over the
// KServe v2 REST protocol with JSON bodies only (no binary tensor extension).
// It is a benchmark peer for Moat, not a product: it listens on 127.0.0.1 only.
//
// Usage (after scripts/install-bench-deps.sh):
//   ORT_DISABLE_TELEMETRY=1 NODE_PATH=.deps/node_modules \
//     node bench/peers/node_server.js --port 8001 [--model tests/models/add_sub.onnx]
//     [--model-name add_sub] [--intra-op-threads N]
// --port 0 lets the OS pick a free port; the server prints the port it bound.
'use strict';

const http = require('http');
const path = require('path');

// ONNX Runtime's Node.js binding loads the same native library as the C++
// API, and that library sends telemetry unless this variable is set before it
// loads, so without it the server exits before `require('onnxruntime-node')`.
if (process.env.ORT_DISABLE_TELEMETRY !== '1') {
  console.error('node_server: ORT_DISABLE_TELEMETRY=1 is not set; set it in the environment and start again.');
  process.exit(2);
}
const ort = require('onnxruntime-node');

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024 * 1024;

// KServe v2 datatype names for the onnxruntime-node tensor types this peer
// accepts. The server exits at start-up on a model with any other type.
const KSERVE_FROM_ORT = {
  float32: 'FP32', float64: 'FP64', int8: 'INT8', int16: 'INT16', int32: 'INT32',
  uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32',
};

function parseArgs(argv) {
  const options = {
    port: null,
    model: path.join(__dirname, '..', '..', 'tests', 'models', 'add_sub.onnx'),
    modelName: 'add_sub',
    intraOpThreads: 0,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`option ${flag} needs a value`);
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--model') options.model = value;
    else if (flag === '--model-name') options.modelName = value;
    else if (flag === '--intra-op-threads') options.intraOpThreads = Number(value);
    else throw new Error(`unknown option ${flag}; options are --port, --model, --model-name, --intra-op-threads`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error(`--port must be an integer from 0 to 65535, got ${options.port}`);
  }
  if (!Number.isInteger(options.intraOpThreads) || options.intraOpThreads < 0) {
    throw new Error(`--intra-op-threads must be a non-negative integer, got ${options.intraOpThreads}`);
  }
  return options;
}

// Converts onnxruntime-node value metadata to KServe tensor metadata, with -1
// for symbolic dimensions.
function tensorMetadata(meta) {
  if (!meta.isTensor || !(meta.type in KSERVE_FROM_ORT)) {
    throw new Error(`model value ${meta.name} has type ${meta.type}, which this peer does not serve`);
  }
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return { name: meta.name, datatype: KSERVE_FROM_ORT[meta.type], shape, ortType: meta.type };
}

class RequestError extends Error {}

function flatten(data, out) {
  for (const item of data) {
    if (Array.isArray(item)) flatten(item, out);
    else out.push(item);
  }
  return out;
}

// Builds an ONNX Runtime tensor from one KServe JSON input after checking it
// against the model's metadata; throws RequestError naming the bad field.
function toOrtTensor(input, spec) {
  if (input.datatype !== spec.datatype) {
    throw new RequestError(`input ${spec.name} has datatype ${input.datatype}, expected ${spec.datatype}`);
  }
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== spec.shape.length ||
      !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RequestError(`input ${spec.name} has shape ${JSON.stringify(shape)}, expected rank ${spec.shape.length} with non-negative integers`);
  }
  shape.forEach((d, i) => {
    if (spec.shape[i] !== -1 && spec.shape[i] !== d) {
      throw new RequestError(`input ${spec.name} has shape ${JSON.stringify(shape)}, expected ${JSON.stringify(spec.shape)}`);
    }
  });
  if (!Array.isArray(input.data)) {
    throw new RequestError(`input ${spec.name} has no "data" array; this server accepts JSON tensor data only`);
  }
  const values = flatten(input.data, []);
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new RequestError(`input ${spec.name} has ${values.length} elements, shape ${JSON.stringify(shape)} needs ${count}`);
  }
  if (!values.every((v) => typeof v === 'number')) {
    throw new RequestError(`input ${spec.name} contains a value that is not a number`);
  }
  return new ort.Tensor(spec.ortType, values, shape);
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function infer(session, model, body) {
  let request;
  try {
    request = JSON.parse(body);
  } catch (err) {
    throw new RequestError(`request body is not valid JSON: ${err.message}`);
  }
  if (request === null || typeof request !== 'object' || !Array.isArray(request.inputs)) {
    throw new RequestError('request body has no "inputs" array');
  }
  const feeds = {};
  for (const input of request.inputs) {
    const spec = model.inputs.find((s) => s.name === input.name);
    if (!spec) throw new RequestError(`input ${input.name} is not an input of model ${model.name}`);
    if (input.name in feeds) throw new RequestError(`input ${input.name} appears twice`);
    feeds[input.name] = toOrtTensor(input, spec);
  }
  for (const spec of model.inputs) {
    if (!(spec.name in feeds)) throw new RequestError(`input ${spec.name} is missing`);
  }

  let wanted = model.outputs.map((s) => s.name);
  if (Array.isArray(request.outputs)) {
    wanted = request.outputs.map((o) => o.name);
    for (const name of wanted) {
      if (!model.outputs.some((s) => s.name === name)) {
        throw new RequestError(`output ${name} is not an output of model ${model.name}`);
      }
    }
  }

  const results = await session.run(feeds, wanted);
  const outputs = wanted.map((name) => {
    const spec = model.outputs.find((s) => s.name === name);
    const tensor = results[name];
    return { name, datatype: spec.datatype, shape: tensor.dims, data: Array.from(tensor.data) };
  });
  const response = { model_name: model.name, model_version: '1', outputs };
  if (request.id !== undefined) response.id = request.id;
  return response;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(options.model, {
    intraOpNumThreads: options.intraOpThreads,
  });
  const model = {
    name: options.modelName,
    inputs: session.inputMetadata.map(tensorMetadata),
    outputs: session.outputMetadata.map(tensorMetadata),
  };
  const metadata = {
    name: model.name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: model.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
    outputs: model.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
  };
  const modelPath = `/v2/models/${model.name}`;

  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    if (req.method === 'GET') {
      if (url === '/v2/health/ready' || url === '/v2/health/live' ||
          url === `${modelPath}/ready` || url === `${modelPath}/versions/1/ready`) {
        res.writeHead(200, { 'Content-Length': 0 });
        res.end();
      } else if (url === modelPath || url === `${modelPath}/versions/1`) {
        sendJson(res, 200, metadata);
      } else {
        sendJson(res, 404, { error: `no route for GET ${url}` });
      }
      return;
    }
    if (req.method !== 'POST' || (url !== `${modelPath}/infer` && url !== `${modelPath}/versions/1/infer`)) {
      sendJson(res, 404, { error: `no route for ${req.method} ${url}` });
      return;
    }
    if (req.headers['inference-header-content-length'] !== undefined) {
      sendJson(res, 400, { error: 'binary tensor data is not supported by this server; send JSON (moat bench --http-json)' });
      req.resume();
      return;
    }

    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        sendJson(res, 413, { error: `request body of ${size} bytes is over the ${MAX_BODY_BYTES}-byte limit` });
        return;
      }
      infer(session, model, Buffer.concat(chunks).toString('utf8'))
        .then((response) => sendJson(res, 200, response))
        .catch((err) => {
          if (err instanceof RequestError) {
            sendJson(res, 400, { error: err.message });
          } else {
            console.error(`node_server: inference failed: ${err.message}`);
            sendJson(res, 500, { error: `inference failed: ${err.message}` });
          }
        });
    });
  });
  // Keep idle keep-alive connections longer than Node's 5-second default so a
  // load generator's connection pool is not closed between bursts.
  server.keepAliveTimeout = 75000;
  server.headersTimeout = 76000;
  server.listen(options.port, HOST, () => {
    console.log(`node_server: serving ${model.name} from ${options.model} on http://${HOST}:${server.address().port}`);
  });
  const stop = (signal) => {
    console.log(`node_server: stopping on ${signal}`);
    server.close();
    server.closeAllConnections();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error(`node_server: ${err.message}`);
  process.exit(1);
});
