# The two commands of the README: `make demo` and `make test`. Each installs
# missing Debian packages (as root; otherwise prints the apt-get line and
# stops), configures and builds with CMake, then runs.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEB_PACKAGES := cmake gcc make pkg-config libgsl-dev libsqlite3-dev libcmocka-dev \
                libfyaml-dev libjansson-dev gnuplot-nox sqlite3 python3-pandas

.PHONY: all deps build build-asan test test-fast demo bench clean

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
