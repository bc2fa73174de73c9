# Thin wrapper: every target installs what is missing, builds, then acts.
# The build is quiet (scripts/build.sh): its output goes to $(BUILD)/build.log
# and is shown only when the compiler warns or the build fails (then the
# errors, with the failing command's output). `make V=1 ...` shows it all.
BUILD ?= build
JOBS ?= $(shell nproc)
RUN_FLAGS ?= --duration 15s
V ?= 0

.PHONY: all deps build build-asan run test test-asan bench format lint clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@GOFR_SIM_VERBOSE=$(V) scripts/build.sh $(BUILD) $(JOBS) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build-asan: deps
	@GOFR_SIM_VERBOSE=$(V) scripts/build.sh $(BUILD)-asan $(JOBS) -DCMAKE_BUILD_TYPE=Debug -DGS_SANITIZE=ON

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
	luacheck lua scenarios spec bench ci deploy

clean:
	rm -rf $(BUILD)
