# The two commands of the README: `make demo` and `make test`. Both install
# what is missing (scripts/install-deps.sh), then build with CMake and Ninja.

BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test crash-test bench bench-protocols bench-compare fuzz clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	scripts/demo.sh $(BUILD)/moat .deps

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The two SIGKILL crash tests at length (a short run of each is part of
# `make test`): the segment writer alone, then `moat serve` under load.
CRASH_ROUNDS ?= 1000
SERVER_CRASH_ROUNDS ?= 200
crash-test: build
	MOAT_CRASH_ROUNDS=$(CRASH_ROUNDS) $(BUILD)/tests/audit_test --gtest_filter='SegmentCrash.*'
	ORT_DISABLE_TELEMETRY=1 MOAT_CRASH_ROUNDS=$(SERVER_CRASH_ROUNDS) $(BUILD)/tests/e2e_test \
	  --gtest_filter='AuditCrash.*'

# Median detector latency, in-process ONNX Runtime against HTTP (docs/benchmarks.md).
bench: build
	ORT_DISABLE_TELEMETRY=1 $(BUILD)/bench/detector_latency --benchmark_repetitions=10 \
	  --benchmark_report_aggregates_only=true

# Median and p99 latency of one small request over every transport (docs/benchmarks.md).
bench-protocols: build
	ORT_DISABLE_TELEMETRY=1 $(BUILD)/bench/protocol_latency --benchmark_repetitions=3 \
	  --benchmark_report_aggregates_only=true

# Moat against in-process ONNX Runtime and hand-written servers, dynamic
# batching, and the cost of auditing; rewrites the tables in
# docs/benchmarks.md (about 20 minutes).
bench-compare: build
	scripts/install-bench-deps.sh
	ORT_DISABLE_TELEMETRY=1 /usr/bin/python3 bench/compare.py

# Coverage-guided fuzzing with libFuzzer (clang), FUZZ_SECONDS per target.
fuzz:
	scripts/install-deps.sh --fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DMOAT_FUZZ=ON -DMOAT_WERROR=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $$(cd fuzz && ls *_fuzzer.cc | sed 's/\.cc$$//')
	for f in fuzz/*_fuzzer.cc; do \
	  name=$$(basename $$f .cc); corpus=fuzz/corpus/$${name%_fuzzer}; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  UBSAN_OPTIONS=suppressions=fuzz/ubsan.supp:halt_on_error=1 \
	    $(FUZZ_BUILD)/fuzz/$$name -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus/$$name $$corpus || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
