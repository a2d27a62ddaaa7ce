# tfm - build, test and benchmark. `make` builds every example and benchmark into build/.
#   make test        all tests in every configuration (see tests/run.sh); ends "N passed, M failed"
#   make bench       the benchmark harness
#   make run         generate a story with stories260K (../shared/models, then models/)
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

MODELS_DIR = $(firstword $(wildcard ../shared/models models))

.PHONY: all test bench run clean
all: $(EXAMPLES) $(BENCH)

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/tfm-%: examples/%.c $(HEADERS) $(wildcard examples/*.h) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/tfm-bench: $(BENCH_SOURCES) $(wildcard benchmarks/*.h) $(wildcard examples/*.h) $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(BENCH_SOURCES) -o $@ $(LDLIBS)

test: all
	OPENMP=$(OPENMP) TFM_BUILD_DIR=$(BUILD) bash tests/run.sh

bench: $(BENCH)
	$(BUILD)/tfm-bench all

run: all
	@if [ -x $(BUILD)/tfm-generate ] && [ -n "$(MODELS_DIR)" ]; then \
		$(BUILD)/tfm-generate -m $(MODELS_DIR)/stories260K.bin -z $(MODELS_DIR)/tok512.bin -p "Once upon a time"; \
	else \
		$(BUILD)/tfm-bench gemm --m 256 --n 256 --k 256; \
	fi

clean:
	rm -rf $(BUILD)
