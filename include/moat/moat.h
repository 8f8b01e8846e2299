/* Moat's in-process C API: open a signed model repository, run inference on a
 * verified model version and read its outputs, with the same bundle
 * verification and audit records as the Moat server.
 *
 * Conventions that hold for every function below:
 * - A function that can fail returns a moat_error*: NULL on success, else an
 *   error that the caller owns and frees with moat_error_free. On failure the
 *   out-parameters are left unchanged.
 * - Passing NULL for a handle or a required pointer returns an
 *   INVALID_ARGUMENT error; no function dereferences a NULL argument.
 * - Strings passed in are NUL-terminated and copied, unless a function's
 *   comment states otherwise. Strings returned point into the object they
 *   came from and stay valid until that object is freed.
 * - Datatypes are the KServe v2 names, upper case: "BOOL", "UINT8", "UINT16",
 *   "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16",
 *   "FP32", "FP64", "BYTES". Fixed-size elements are little-endian in
 *   row-major order. A BYTES element is a 4-byte little-endian length
 *   followed by that many bytes, and a BYTES tensor is its elements back
 *   to back.
 */
#ifndef MOAT_MOAT_H_
#define MOAT_MOAT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface. Any incompatible change of a signature,
 * type or contract below increments it and the library's SONAME
 * (libmoat.so.1 for version 1). */
#define MOAT_ABI_VERSION 1

/* Status codes of moat_error_code, numbered as gRPC's canonical codes. */
typedef enum moat_status_code {
  MOAT_OK = 0,
  MOAT_CANCELLED = 1,
  MOAT_UNKNOWN = 2,
  MOAT_INVALID_ARGUMENT = 3,
  MOAT_DEADLINE_EXCEEDED = 4,
  MOAT_NOT_FOUND = 5,
  MOAT_ALREADY_EXISTS = 6,
  MOAT_PERMISSION_DENIED = 7,
  MOAT_RESOURCE_EXHAUSTED = 8,
  MOAT_FAILED_PRECONDITION = 9,
  MOAT_ABORTED = 10,
  MOAT_OUT_OF_RANGE = 11,
  MOAT_UNIMPLEMENTED = 12,
  MOAT_INTERNAL = 13,
  MOAT_UNAVAILABLE = 14,
  MOAT_DATA_LOSS = 15,
  MOAT_UNAUTHENTICATED = 16
} moat_status_code;

/* Opaque handles. */
typedef struct moat_error moat_error;
typedef struct moat_options moat_options;
typedef struct moat_runtime moat_runtime;
typedef struct moat_request moat_request;
typedef struct moat_response moat_response;

/* ---- Versions ---------------------------------------------------------- */

/* Returns the ABI version the loaded library implements. Thread-safe. */
int moat_abi_version(void);

/* Returns Moat's release version, such as "0.1.0". The string is static.
 * Thread-safe. */
const char* moat_version(void);

/* ---- Errors ------------------------------------------------------------ */

/* Returns the status code of `error`, or MOAT_OK (0) when `error` is NULL.
 * Thread-safe. */
int moat_error_code(const moat_error* error);

/* Returns the code's name, such as "NOT_FOUND" ("OK" for NULL). The string
 * is static. Thread-safe. */
const char* moat_error_code_name(const moat_error* error);

/* Returns the error message, a sentence that names the offending value ("" for
 * NULL). Valid until the error is freed. Thread-safe. */
const char* moat_error_message(const moat_error* error);

/* Frees `error`. NULL is ignored. */
void moat_error_free(moat_error* error);

/* ---- Options for moat_runtime_open ------------------------------------- */

/* Creates empty options; the caller frees them with moat_options_free.
 * Options are not thread-safe: set them from one thread. */
moat_error* moat_options_create(moat_options** out);

/* Frees `options`. NULL is ignored. The runtime does not keep them, so they
 * may be freed right after moat_runtime_open. */
void moat_options_free(moat_options* options);

/* Sets the model repository folder, laid out as <dir>/<model>/<version>/.
 * Required. */
moat_error* moat_options_set_repository(moat_options* options, const char* dir);

/* Sets the folder of trusted publisher public keys (*.pem). Required. */
moat_error* moat_options_set_trust_dir(moat_options* options, const char* dir);

/* Sets the audit log folder, created with mode 0700 if missing. Required. The
 * runtime holds an exclusive lock on it while open, so two runtimes or a
 * runtime and a server cannot share one folder. */
moat_error* moat_options_set_audit_dir(moat_options* options, const char* dir);

/* Sets the master key file that seals the audit records. Unset: DIR.keys
 * beside the audit folder DIR. Created with one random key if missing. */
moat_error* moat_options_set_audit_key_file(moat_options* options, const char* path);

/* Sets the node's Ed25519 private key (PEM), which signs audit checkpoints.
 * Unset: DIR.node-key beside the audit folder DIR. Created if missing, with
 * its public key beside it as PATH.pub. */
moat_error* moat_options_set_node_key(moat_options* options, const char* path);

/* Sets whether the inference call returns only after its audit record is
 * on disk: nonzero for on (the default); 0 syncs records in groups of up to
 * 1000 records or 100 ms, which a crash can lose. */
moat_error* moat_options_set_audit_sync(moat_options* options, int enabled);

/* Sets the number of ONNX Runtime intra-op threads; 0 means one per core the
 * process may run on. The thread pool is shared by the whole process, so
 * every runtime opened later must leave this unset or set the same value.
 * Unset: the value of a runtime opened earlier, else 0. Negative values are
 * rejected. */
moat_error* moat_options_set_intra_op_threads(moat_options* options, int threads);

/* ---- Runtime ----------------------------------------------------------- */

/* Opens a runtime: checks that `abi_version` (pass MOAT_ABI_VERSION) matches
 * the library, opens the audit log, loads the trust store and verifies every
 * bundle of the repository. Versions that fail verification are audited and
 * not served. On success *out is a runtime that the caller frees with
 * moat_runtime_close. Thread-safe.
 * Errors: FAILED_PRECONDITION for another ABI version, or for other intra-op
 * threads than an earlier runtime. INVALID_ARGUMENT for a missing required
 * option. An error naming the path when the trust store, repository or audit
 * log cannot be used. */
moat_error* moat_runtime_open(int abi_version, const moat_options* options, moat_runtime** out);

/* Closes `runtime`, audits the stop and releases the audit log. NULL is
 * ignored. REQUIRES: no other call is using the runtime. */
void moat_runtime_close(moat_runtime* runtime);

/* Runs `request` on the model version it names, audits the outcome and, on
 * success, sets *out to a response that the caller frees with
 * moat_response_free. Each call with non-NULL arguments writes one audit
 * record with protocol "c-api" and peer "pid <process id>", also when the
 * request fails. Errors: NOT_FOUND when the model or version is not served.
 * INVALID_ARGUMENT when names, datatypes, shapes or sizes differ from the
 * model (the message names the tensor). UNAVAILABLE when the audit log cannot
 * be written, so no result is returned. INTERNAL for a runtime failure.
 * Thread-safe: several threads may call it at once on one runtime, with one
 * request each or with a shared request that no thread modifies. */
moat_error* moat_runtime_infer(moat_runtime* runtime, const moat_request* request, moat_response** out);

/* ---- Request ----------------------------------------------------------- */

/* Creates a request for model `model_name`, version `model_version`; 0 or a
 * negative version selects the latest version served. The caller frees the
 * request with moat_request_free. A request is not thread-safe while it is
 * being modified. */
moat_error* moat_request_create(const char* model_name, int64_t model_version, moat_request** out);

/* Frees `request`. NULL is ignored. */
void moat_request_free(moat_request* request);

/* Sets the request id written to the audit record and returned by
 * moat_response_id. Unset: the runtime generates one per inference call. */
moat_error* moat_request_set_id(moat_request* request, const char* id);

/* Adds input tensor `name` of KServe datatype `datatype` with `rank`
 * dimensions `shape` (NULL when rank is 0) and `byte_size` bytes at `data`.
 * The name, datatype and shape are copied. `data` is borrowed, not copied:
 * it must stay valid and unchanged until the last moat_runtime_infer call
 * with this request returns. Errors: INVALID_ARGUMENT for an unknown
 * datatype, a negative dimension, or a byte size that does not fit the shape
 * (for BYTES, length prefixes that do not fill `byte_size`). */
moat_error* moat_request_add_input(moat_request* request, const char* name, const char* datatype,
                                   const int64_t* shape, size_t rank, const void* data, size_t byte_size);

/* Requests output `name`. Outputs come back in the order requested; with no
 * requested output, the response contains every output of the model in the
 * model's order. */
moat_error* moat_request_add_output(moat_request* request, const char* name);

/* ---- Response ---------------------------------------------------------- */

/* Frees `response` and its outputs. NULL is ignored. */
void moat_response_free(moat_response* response);

/* Sets *id to the request id: the one set with moat_request_set_id, else the
 * one the runtime generated. Response accessors are thread-safe. */
moat_error* moat_response_id(const moat_response* response, const char** id);

/* Sets *name and *version to the model and version that ran. Either pointer
 * may be NULL to skip it. */
moat_error* moat_response_model(const moat_response* response, const char** name, int64_t* version);

/* Sets *receipt to the audit receipt of the response's record,
 * "moat-receipt-v1:<log id>:<sequence number>:<record hash>", which
 * `moat audit prove` and `moat audit verify-receipt` check later. Valid until
 * the response is freed. */
moat_error* moat_response_audit_receipt(const moat_response* response, const char** receipt);

/* Sets *count to the number of output tensors. */
moat_error* moat_response_output_count(const moat_response* response, size_t* count);

/* Describes output `index` (0 to count - 1): its name, KServe datatype,
 * shape of *rank dimensions, and *byte_size bytes at *data in the layout
 * described at the top of this file. Any out-pointer may be NULL to skip it.
 * The memory belongs to the response and stays valid until it is freed.
 * *data may be NULL when *byte_size is 0. Errors: OUT_OF_RANGE for an index
 * past the last output. */
moat_error* moat_response_output(const moat_response* response, size_t index, const char** name,
                                 const char** datatype, const int64_t** shape, size_t* rank,
                                 const void** data, size_t* byte_size);

/* Sets *index to the position of output `name`. Errors: NOT_FOUND when the
 * response has no output of that name. */
moat_error* moat_response_find_output(const moat_response* response, const char* name, size_t* index);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOAT_MOAT_H_ */
