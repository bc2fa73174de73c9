# Thin wrapper: every target installs what is missing, builds, then acts.
BUILD ?= build
JOBS ?= $(shell nproc)
RUN_FLAGS ?= --duration 15s

.PHONY: all deps build build-asan run test test-asan bench format lint clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGS_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)

run: build
	$(BUILD)/gofr-sim scenarios/load.lua $(RUN_FLAGS)

# The suite twice: on the ASan+UBSan build first, then on the release build
# (both are built before either runs).
test: build build-asan
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS)

bench: build
	@scripts/install-deps.sh --bench
	GOFR_SIM=$(BUILD)/gofr-sim bench/run-all.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	luacheck lua scenarios spec bench ci

clean:
	rm -rf $(BUILD)
