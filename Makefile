# Thin wrapper: every target installs what is missing, builds, then acts.
BUILD ?= build
JOBS ?= $(shell nproc)
RUN_FLAGS ?= --consumers 20 --rate 20 --duration 15s

.PHONY: all deps build run test bench format lint clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/gofr-sim scenarios/load.lua $(RUN_FLAGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@scripts/install-deps.sh --bench
	GOFR_SIM=$(BUILD)/gofr-sim bench/run-all.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	luacheck lua scenarios spec bench

clean:
	rm -rf $(BUILD)
