# tfm - build, test and benchmark. `make` builds every example and benchmark into build/.
#   make test        all tests in every configuration (see tests/run.sh); ends "N passed, M failed"
#   make bench       the benchmark harness
#   make run         build tfm-generate and tell a story with models/stories260K.gguf
#   make OPENMP=0    build without OpenMP
#   make BUILD=dir   put the binaries in dir instead of build/
CC ?= gcc
ifeq ($(origin CC),default)
CC = gcc
endif
OPENMP ?= 1
CFLAGS ?= -O2 -march=native
WARNINGS = -std=c99 -pedantic -Wall -Wextra -Werror
ifeq ($(OPENMP),1)
OMPFLAGS = -fopenmp
endif
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) $(OMPFLAGS) -Iinclude
LDLIBS = -lm

BUILD ?= build
HEADERS = $(wildcard include/*.h)
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/tfm-%,$(wildcard examples/*.c))
BENCH_SOURCES = $(wildcard benchmarks/*.c)
BENCH = $(if $(BENCH_SOURCES),$(BUILD)/tfm-bench)

.PHONY: all test bench run clean
all: $(EXAMPLES) $(BENCH)

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/tfm-%: examples/%.c $(wildcard examples/*.h) $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/tfm-bench: $(BENCH_SOURCES) $(wildcard benchmarks/*.h examples/*.h) $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(BENCH_SOURCES) -o $@ $(LDLIBS)

test: all
	OPENMP=$(OPENMP) TFM_BUILD_DIR=$(BUILD) bash tests/run.sh

bench: $(BENCH)
	$(BUILD)/tfm-bench all

run: $(BUILD)/tfm-generate
	$(BUILD)/tfm-generate -m models/stories260K.gguf -p "Once upon a time"

clean:
	rm -rf $(BUILD)
