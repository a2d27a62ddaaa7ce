# tfm - build, test and benchmark. `make` builds every example and benchmark into build/.
#   make test        all tests in every configuration (see tests/run.sh); ends "N passed, M failed"
#   make bench       the benchmark harness
#   make run         generate a story with stories260K (../shared/models, then models/)
#   make OPENMP=0    build without OpenMP
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

HEADERS = $(wildcard include/*.h)
EXAMPLES = $(patsubst examples/%.c,build/tfm-%,$(wildcard examples/*.c))
BENCH_SOURCES = $(wildcard benchmarks/*.c)
BENCH = $(if $(BENCH_SOURCES),build/tfm-bench)

MODELS_DIR = $(firstword $(wildcard ../shared/models models))

.PHONY: all test bench run clean
all: $(EXAMPLES) $(BENCH)

build:
	@mkdir -p build

build/tfm-%: examples/%.c $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDLIBS)

build/tfm-bench: $(BENCH_SOURCES) $(wildcard benchmarks/*.h) $(HEADERS) | build
	$(CC) $(ALL_CFLAGS) $(BENCH_SOURCES) -o $@ $(LDLIBS)

test: all
	OPENMP=$(OPENMP) bash tests/run.sh

bench: $(BENCH)
	./build/tfm-bench all

run: all
	@if [ -x build/tfm-generate ] && [ -n "$(MODELS_DIR)" ]; then \
		./build/tfm-generate -m $(MODELS_DIR)/stories260K.bin -z $(MODELS_DIR)/tok512.bin -p "Once upon a time"; \
	else \
		./build/tfm-bench gemm --m 256 --n 256 --k 256; \
	fi

clean:
	rm -rf build
