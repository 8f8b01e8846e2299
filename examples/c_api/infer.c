/* Runs one inference through Moat's C API and prints the outputs.
 *
 *   infer REPOSITORY TRUST_DIR AUDIT_DIR [MODEL [VALUE...]]
 *
 * MODEL (default "add_sub") must take two FP32 inputs INPUT0 and INPUT1 of
 * shape [1, 16], as tests/models/add_sub.onnx does. INPUT0 contains the VALUEs
 * given (up to 16, the rest 0) or 0, 1, ..., 15 when none are given; INPUT1
 * contains 1 in every element. Exits 0 on success, 1 with the error message on
 * failure, 2 on a usage error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moat/moat.h>

#define ELEMENTS 16

/* Prints "infer: WHAT: MESSAGE", frees the error and returns 1. */
static int report(moat_error* error, const char* what) {
  fprintf(stderr, "infer: %s: %s (%s)\n", what, moat_error_message(error), moat_error_code_name(error));
  moat_error_free(error);
  return 1;
}

/* Prints one output: name, datatype, shape, then FP32 values or a byte count.
 * Returns 0, or 1 after printing the error. */
static int print_output(const moat_response* response, size_t index) {
  const char* name = NULL;
  const char* datatype = NULL;
  const int64_t* shape = NULL;
  size_t rank = 0;
  const void* data = NULL;
  size_t byte_size = 0;
  moat_error* error =
      moat_response_output(response, index, &name, &datatype, &shape, &rank, &data, &byte_size);
  if (error != NULL) return report(error, "reading an output");
  printf("%s %s [", name, datatype);
  for (size_t d = 0; d < rank; ++d) printf(d == 0 ? "%" PRId64 : ",%" PRId64, shape[d]);
  printf("]:");
  if (strcmp(datatype, "FP32") == 0) {
    const float* values = (const float*)data;
    for (size_t i = 0; i < byte_size / sizeof(float); ++i) printf(" %g", values[i]);
  } else {
    printf(" %zu bytes", byte_size);
  }
  printf("\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s REPOSITORY TRUST_DIR AUDIT_DIR [MODEL [VALUE...]]\n", argv[0]);
    return 2;
  }
  const char* model = argc > 4 ? argv[4] : "add_sub";
  int given = argc > 5 ? argc - 5 : 0;
  if (given > ELEMENTS) {
    fprintf(stderr, "infer: too many values (%d); INPUT0 takes at most %d\n", given, ELEMENTS);
    return 2;
  }

  /* Inputs are borrowed until moat_runtime_infer returns, so plain arrays do. */
  float input0[ELEMENTS];
  float input1[ELEMENTS];
  for (int i = 0; i < ELEMENTS; ++i) {
    input0[i] = given > 0 ? 0.0f : (float)i;
    input1[i] = 1.0f;
  }
  for (int i = 0; i < given; ++i) {
    char* end = NULL;
    input0[i] = strtof(argv[5 + i], &end);
    if (end == argv[5 + i] || *end != '\0') {
      fprintf(stderr, "infer: value '%s' is not a number\n", argv[5 + i]);
      return 2;
    }
  }
  const int64_t shape[2] = {1, ELEMENTS};

  int status = 1;
  moat_options* options = NULL;
  moat_runtime* runtime = NULL;
  moat_request* request = NULL;
  moat_response* response = NULL;
  moat_error* error = NULL;
  const char* ran_model = NULL;
  int64_t version = 0;
  const char* id = NULL;
  size_t count = 0;

  if ((error = moat_options_create(&options)) != NULL ||
      (error = moat_options_set_repository(options, argv[1])) != NULL ||
      (error = moat_options_set_trust_dir(options, argv[2])) != NULL ||
      (error = moat_options_set_audit_dir(options, argv[3])) != NULL) {
    status = report(error, "setting options");
    goto done;
  }
  /* Checks that this program and the library agree on the ABI version. */
  if ((error = moat_runtime_open(MOAT_ABI_VERSION, options, &runtime)) != NULL) {
    status = report(error, "opening the repository");
    goto done;
  }

  if ((error = moat_request_create(model, 0, &request)) != NULL ||
      (error = moat_request_set_id(request, "c-api-example")) != NULL ||
      (error = moat_request_add_input(request, "INPUT0", "FP32", shape, 2, input0, sizeof input0)) != NULL ||
      (error = moat_request_add_input(request, "INPUT1", "FP32", shape, 2, input1, sizeof input1)) != NULL) {
    status = report(error, "building the request");
    goto done;
  }
  if ((error = moat_runtime_infer(runtime, request, &response)) != NULL) {
    status = report(error, "inference");
    goto done;
  }

  if ((error = moat_response_model(response, &ran_model, &version)) != NULL ||
      (error = moat_response_id(response, &id)) != NULL ||
      (error = moat_response_output_count(response, &count)) != NULL) {
    status = report(error, "reading the response");
    goto done;
  }
  printf("model %s version %" PRId64 ", request %s\n", ran_model, version, id);
  status = 0;
  for (size_t i = 0; i < count && status == 0; ++i) status = print_output(response, i);

done:
  /* Every free function accepts NULL. */
  moat_response_free(response);
  moat_request_free(request);
  moat_runtime_close(runtime);
  moat_options_free(options);
  return status;
}
