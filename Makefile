# tfm - build, test and benchmark. `make` builds every example and benchmark into build/.
#   make test        all tests in every configuration (see tests/run.sh); ends "N passed, M failed"
#   make fuzz        every fuzz target of tests/fuzz for FUZZ_SECONDS each (default 600; clang + libFuzzer),
#                    or until FUZZ_RUNS executions if that comes first; FUZZ_TARGETS picks some of them,
#                    FUZZ_CORPUS=DIR keeps the corpora in DIR/<target> (default build/fuzz/corpus)
#   make bench       the benchmark harness
#   make run         build tfm-generate and tell a story with models/stories260K.gguf
#   make install     headers, the tools, tfm.pc and tfmConfig.cmake under PREFIX (default /usr/local;
#                    DESTDIR is prepended for staging)
#   make single      build/tfm_single.h: every header in one file
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

PREFIX ?= /usr/local
DESTDIR ?=
# the version is written once, in include/tfm_tensor.h
VERSION := $(shell awk '/^\#define TFM_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $$3; sep = "."} END {print v}' include/tfm_tensor.h)

FUZZ_SECONDS ?= 600
FUZZ_RUNS ?=
FUZZ_TARGETS ?=
FUZZ_CORPUS ?=

.PHONY: all test bench run install single clean fuzz
all: $(EXAMPLES) $(BENCH)

$(BUILD):
	@mkdir -p $(BUILD)

# The implementation is compiled once (tfm.h with TFM_IMPLEMENTATION) and linked into every tool: each
# tool's own #define TFM_IMPLEMENTATION is taken back by TFM_IMPLEMENTATION_ELSEWHERE. (tfm-bench measures
# the machine's ceilings with the implementation's internal vector layer: it keeps its own.)
IMPL = $(BUILD)/tfm_impl.o
$(IMPL): $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DTFM_IMPLEMENTATION -x c -c include/tfm.h -o $@

$(BUILD)/tfm-%: examples/%.c $(IMPL) $(HEADERS) $(wildcard examples/*.h) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DTFM_IMPLEMENTATION_ELSEWHERE $< $(IMPL) -o $@ $(LDLIBS)

$(BUILD)/tfm-bench: $(BENCH_SOURCES) $(wildcard benchmarks/*.h) $(wildcard examples/*.h) $(HEADERS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(BENCH_SOURCES) -o $@ $(LDLIBS)

test: all
	OPENMP=$(OPENMP) TFM_BUILD_DIR=$(BUILD) bash tests/run.sh

fuzz:
	TFM_FUZZ_RUNS=$(FUZZ_RUNS) TFM_FUZZ_TARGETS="$(FUZZ_TARGETS)" TFM_FUZZ_CORPUS="$(FUZZ_CORPUS)" bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)/fuzz

bench: $(BENCH)
	$(BUILD)/tfm-bench all

run: $(BUILD)/tfm-generate
	$(BUILD)/tfm-generate -m models/stories260K.gguf -p "Once upon a time"

# The templates in cmake/ are CMake's configure_file input; CMake's install fills them the same way.
install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/lib/cmake/tfm
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include
	install -m 755 $(EXAMPLES) $(BENCH) $(DESTDIR)$(PREFIX)/bin
	sed -e 's|@TFM_PREFIX@|$(PREFIX)|' -e 's|@TFM_PC_INCLUDEDIR@|$${prefix}/include|' -e 's|@TFM_VERSION@|$(VERSION)|' \
		-e 's|@TFM_PC_OPENMP@|$(OMPFLAGS)|g' cmake/tfm.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/tfm.pc
	sed -e 's|@TFM_VERSION@|$(VERSION)|g' -e 's|@TFM_INCLUDE_FROM_CONFIG@|../../../include|' \
		-e 's|@TFM_OPENMP_USED@|$(if $(OMPFLAGS),ON,OFF)|' cmake/tfmConfig.cmake.in >$(DESTDIR)$(PREFIX)/lib/cmake/tfm/tfmConfig.cmake
	sed -e 's|@TFM_VERSION@|$(VERSION)|g' -e 's|@TFM_VERSION_MAJOR@|$(word 1,$(subst ., ,$(VERSION)))|g' \
		-e 's|@TFM_VERSION_MINOR@|$(word 2,$(subst ., ,$(VERSION)))|g' \
		cmake/tfmConfigVersion.cmake.in >$(DESTDIR)$(PREFIX)/lib/cmake/tfm/tfmConfigVersion.cmake
	install -m 644 cmake/tfmLinks.cmake $(DESTDIR)$(PREFIX)/lib/cmake/tfm

# The headers in tfm.h's order, their includes of each other dropped (each comes before its users);
# the internal files tfm.h does not list (tfm_simd.h and the like, included once per instruction set)
# copied in at each of their includes.
single: $(BUILD)/tfm_single.h
$(BUILD)/tfm_single.h: $(HEADERS) | $(BUILD)
	{ printf '/* tfm_single.h - tfm %s, every header in one file (made by `make single` from include/).\n' $(VERSION); \
	  printf '   In one C or C++ file: #define TFM_IMPLEMENTATION, then #include "tfm_single.h". */\n'; \
	  listed="$$(sed -n 's/^#include "\(tfm_[a-z0-9_]*\.h\)"$$/\1/p' include/tfm.h)"; \
	  for h in $$listed; do \
		awk -v listed=" $$(echo $$listed) " '/^#include "tfm_[a-z0-9_]*\.h"/ { f = $$2; gsub(/"/, "", f); \
			if (index(listed, " " f " ")) next; while ((getline line < ("include/" f)) > 0) print line; close("include/" f); next } \
			{ print }' include/$$h; done; } >$@.tmp
	mv $@.tmp $@

clean:
	rm -rf $(BUILD)
