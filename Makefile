# The two commands of the README: `make demo` and `make test`. Each installs
# missing Debian packages (as root; otherwise prints the apt-get line and
# stops), configures and builds with CMake, then runs.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEB_PACKAGES := cmake gcc make pkg-config libgsl-dev libsqlite3-dev libcmocka-dev \
                libfyaml-dev libjansson-dev gnuplot-nox sqlite3 python3-pandas \
                python3-simpy

FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_TARGETS := scenario units trace safetensors select trace_line
# Only `make fuzz` needs clang and libFuzzer (libclang-rt-dev); `make test`
# replays the fuzz corpus with gcc.
FUZZ_DEB_PACKAGES := clang libclang-rt-dev

.PHONY: all deps build build-asan test test-fast demo bench clean fuzz fuzz-build

all: build

deps:
	@./scripts/deps.sh $(DEB_PACKAGES)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTHAW_SANITIZE=ON -DTHAW_CUDA=OFF

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every test through ctest, then the whole suite again under ASan+UBSan.
test: build build-asan
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -LE bench

# The normal build's tests only (quicker, for development).
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

demo: build
	@./scripts/demo.sh $(BUILD)/cli/thaw

bench: build
	@./scripts/bench.sh $(BUILD)/cli/thaw

# libFuzzer + ASan + UBSan: each target runs FUZZ_TIME seconds on a working
# copy of its corpus (new inputs stay in $(FUZZ_BUILD)/corpus, not in the
# tree); a crash is written to $(FUZZ_BUILD)/crashes/NAME/ and stops the run:
# fix it and add the file to tests/fuzz/crashes/NAME/. The last line of each
# target's log holds its executions and coverage.
fuzz-build: deps
	@./scripts/deps.sh $(FUZZ_DEB_PACKAGES)
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHAW_FUZZ=ON \
	  -DTHAW_CUDA=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
	  echo "fuzz $$t for $(FUZZ_TIME) s"; \
	  $(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz-$$t.log 2>&1 || \
	    { tail -40 $(FUZZ_BUILD)/fuzz-$$t.log; exit 1; }; \
	  grep -E '^#[0-9]+.*(DONE|pulse|REDUCE|NEW)' $(FUZZ_BUILD)/fuzz-$$t.log | tail -1; \
	  grep -E '^stat::number_of_executed_units' $(FUZZ_BUILD)/fuzz-$$t.log; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
