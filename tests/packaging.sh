#!/usr/bin/env bash
# tfm as other projects get it, each check a small build done the way a user would:
#   split    TFM_IMPLEMENTATION in several files: every header implemented on its own compiles; the ones no
#            other header includes, and all of them in C and in C++, linked into one program that runs
#   single   `make single`: build/tfm_single.h compiled as C99 and as C++
#   make     `make install PREFIX=...`: a pkg-config build, the installed tool
#   cmake    an out-of-tree project with add_subdirectory(tfm); tfm's own CMake build of the tools and
#            cmake --install (OpenMP off); projects with find_package(tfm) on that prefix and on make's
#   mingw    the tools cross-compiled for Windows without a warning (tests/run.sh's windows configuration
#            runs the tests under wine)
#   clone    a fresh clone with no ../shared beside it: `make run` tells a story
# Consumers print their tfm version and thread count, checked against include/tfm_tensor.h and the
# OpenMP setting of their build; tools tell stories260K's greedy story, checked against llama2.c's
# (../shared/golden) when it is there. Checks whose tools are missing are skipped.
#   bash tests/packaging.sh OUT_DIR BUILD_DIR      ends "packaging: N passed, M failed, S skipped"
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
# the makes below are a user's, not parts of the make that may have started this script
unset MAKEFLAGS MFLAGS MAKELEVEL
out=${1:-build/test/package}
build=${2:-build}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/steps"
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); }
bad() { echo "  FAIL packaging: $*" >&2; fail=$((fail + 1)); }
skipped() { echo "  SKIP packaging: $*" >&2; skip=$((skip + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }
. tests/cpu_time.sh
# logged LOG COMMAND...: runs it with its output in $out/LOG.log, whose end is shown if it fails; its CPU
# milliseconds are added to $out/steps (one line "LOG MS" a run: where the configuration's time goes)
logged() {
    local log=$out/$1.log name=$1 c0 c1 rc=0
    shift
    cpu_now c0 "$out"
    "$@" >"$log" 2>&1 || rc=$?
    cpu_now c1 "$out"
    echo "$name $((c1 - c0))" >>"$out/steps"
    [ $rc -eq 0 ] && return 0
    tail -n 25 "$log" >&2
    return 1
}

version=$(awk '/^#define TFM_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."} END {print v}' include/tfm_tensor.h)
warn="-Wall -Wextra -Werror -pedantic"
export OMP_NUM_THREADS=2 # a consumer built with OpenMP reports 2 threads, one without reports 1
make_threads=1           # threads of a program built with make's flags (make install's tfm.pc and tfmConfig.cmake)
[ "${OPENMP:-1}" = 1 ] && make_threads=2

# write_consumer HEADER FILE: what a program using tfm does (the whole of tfm.h is the split check's)
write_consumer() {
    cat >"$2" <<EOF
#define TFM_IMPLEMENTATION
#include "$1"
#include <stdio.h>

int main(void)
{
    float w[2 * 3] = {1, 2, 3, 4, 5, 6}, x[3] = {1, 0, -1}, y[2];
    if (tfm_gemv(y, TFM_F32, w, x, 2, 3, 1) != TFM_OK || y[0] != -2 || y[1] != -2) return 1;
    printf("tfm %s threads %d\n", TFM_VERSION_STRING, tfm_default_threads());
    return 0;
}
EOF
}
# expect_run WHAT THREADS PROGRAM: the program prints "tfm VERSION threads THREADS"
expect_run() {
    local what=$1 threads=$2 got
    shift 2
    got=$("$@" 2>&1)
    if [ "$got" = "tfm $version threads $threads" ]; then ok
    else bad "$what printed '$got', want 'tfm $version threads $threads'"; fi
}
# expect_story WHAT COMMAND...: a tfm-generate (COMMAND) tells stories260K's greedy story from another
# directory; llama2.c's story when ../shared/golden has it (-n 196: llama2.c's -n 200 counts BOS and the
# prompt), else one that starts with the prompt
golden=${TFM_SHARED:-../shared}/golden/stories260K.greedy.once_upon_a_time.n200.txt
expect_story() {
    local what=$1 text=$out/story.txt
    shift
    if ! (cd / && "$@" -m "$root/models/stories260K.gguf" -p "Once upon a time" -n 196 --temp 0 >"$text" \
        2>"$out/story.log"); then
        bad "$what does not run: $(tail -n 1 "$out/story.log")"
    elif [ -f "$golden" ] && ! cmp -s "$text" "$golden"; then bad "$what does not tell llama2.c's greedy story"
    elif ! grep -q "^Once upon a time, " "$text"; then bad "$what tells no story: '$(head -c 200 "$text")'"
    else ok; fi
}

# ---------------------------------------------------------------- split: TFM_IMPLEMENTATION in many files
# One file per header implements it (and so its dependencies again), one implements everything as C
# and one as C++; main.c includes gguf.h first, then implements sampler.h; partial.c implements
# tokenizer.h, then only uses model.h. All link into one program (gcc and clang: weak symbols); no tfm_
# symbol may be a weak reference, in partial.o or the program (an unresolved one is a null call), and
# the program runs.
split_dir=$out/split
mkdir -p "$split_dir"
cat >"$split_dir/partial.c" <<'EOF'
#define TFM_IMPLEMENTATION
#include "tfm_tokenizer.h"
#undef TFM_IMPLEMENTATION
#include "tfm_model.h"

int partial_uses_the_model(void);
int partial_uses_the_model(void) { return tfm_model_load(NULL, NULL, NULL, NULL) == TFM_ERR_INVALID_ARGUMENT; }
EOF
cat >"$split_dir/main.c" <<'EOF'
#include "tfm_gguf.h"
#define TFM_IMPLEMENTATION
#include "tfm_sampler.h"
#include "tfm.h"
#include <stdio.h>

int main(void)
{
    tfm_model *model;
    tfm_context *ctx;
    tfm_error err;
    float logits[512];
    int i, token;
    if (tfm_model_load("models/stories260K.gguf", NULL, &model, &err) != TFM_OK ||
        tfm_context_create(model, NULL, &ctx, &err) != TFM_OK) {
        printf("%s\n", err.message);
        return 1;
    }
    token = tfm_tokenizer_bos(tfm_model_tokenizer(model));
    for (i = 0; i < 8; i++) {
        if (tfm_forward(ctx, &token, 1, logits, TFM_LOGITS_LAST, &err) != TFM_OK) return 1;
        token = (int)tfm_argmax(logits, 512);
        printf("%d ", token);
    }
    printf("%s\n", tfm_status_string(TFM_ERR_IO));
    tfm_context_free(ctx);
    tfm_model_free(model);
    return 0;
}
EOF
# impl_all.c (the whole library, as C and as C++) is compiled portable; the other objects for this CPU only
# (-march=native: one instruction set, a third of the -O0 compile), which defines the same global symbols
# (the dispatched kernels of a portable build are file-local): what is checked, the weak symbols defined in
# several objects, is the same
split_check() {
    local cc=$1 cxx=$2 headers=$3 linked=$4 objs="" h name this_cpu="-march=native"
    for h in $headers; do
        name=$(basename "$h" .h)
        printf '#define TFM_IMPLEMENTATION\n#include "%s.h"\n' "$name" >"$split_dir/impl_$name.c"
        if [[ " $linked " == *" $name "* ]]; then
            logged "split_$cc" $cc -std=c99 $warn -O0 $this_cpu -Iinclude -c "$split_dir/impl_$name.c" -o "$split_dir/$cc-$name.o" ||
                return 1
            objs="$objs $split_dir/$cc-$name.o"
        else
            logged "split_$cc" $cc -std=c99 $warn -Iinclude -fsyntax-only "$split_dir/impl_$name.c" || return 1
        fi
    done
    printf '#define TFM_IMPLEMENTATION\n#include "tfm.h"\n' >"$split_dir/impl_all.c"
    logged "split_$cc" $cc -std=c99 $warn -O0 -Iinclude -c "$split_dir/impl_all.c" -o "$split_dir/$cc-all.o" &&
        logged "split_$cc" $cxx -x c++ -std=c++11 $warn -O0 -Iinclude -c "$split_dir/impl_all.c" -o "$split_dir/$cc-allxx.o" &&
        logged "split_$cc" $cc -std=c99 $warn -O0 $this_cpu -Iinclude -c "$split_dir/main.c" -o "$split_dir/$cc-main.o" &&
        logged "split_$cc" $cc -std=c99 $warn -O0 -Iinclude -c "$split_dir/partial.c" -o "$split_dir/$cc-partial.o" &&
        logged "split_$cc" $cc $objs "$split_dir/$cc-all.o" "$split_dir/$cc-allxx.o" "$split_dir/$cc-main.o" \
            "$split_dir/$cc-partial.o" -lm -o "$split_dir/$cc-main" || return 1
    if nm "$split_dir/$cc-partial.o" "$split_dir/$cc-main" | grep -E ' [wv] tfm_' >&2; then
        echo "  (weak references to tfm functions above)" >&2
        return 1
    fi
    # the model's first greedy tokens after BOS, then a status string
    logged "split_${cc}_run" "$split_dir/$cc-main" && grep -qE '^([0-9]+ ){8}i/o error$' "$out/split_${cc}_run.log"
}
# gcc: every header compiles implemented on its own (-fsyntax-only), and the ones no other header includes
# (whose implementations cover all the others) are linked: each symbol is then defined in three objects or
# more; clang (the same linker, the same weak symbols): the first and the last of the chain, both linked
for pair in "gcc g++" "clang clang++"; do
    set -- $pair
    headers="include/tfm_*.h" linked="tfm_embed tfm_generate"
    [ "$1" = clang ] && headers="include/tfm_tensor.h include/tfm_generate.h" linked="tfm_tensor tfm_generate"
    if ! have "$1" || ! have "$2"; then skipped "split implementation with $1: not installed"
    elif split_check "$1" "$2" "$(echo $headers)" "$linked"; then ok
    else bad "TFM_IMPLEMENTATION in several files, built with $1, does not link or run"; fi
done
# TFM_IMPLEMENTATION_ELSEWHERE: a tool's file (it defines TFM_IMPLEMENTATION) compiled so defines no public tfm
# function (were it ignored, make's tools would still link: the copies would be weak)
if logged elsewhere gcc -std=c99 $warn -O0 -fopenmp -Iinclude -DTFM_IMPLEMENTATION_ELSEWHERE -c examples/generate.c \
    -o "$split_dir/elsewhere.o"; then
    if nm --defined-only "$split_dir/elsewhere.o" | grep -E ' [TWV] tfm_' >&2; then
        bad "examples/generate.c with TFM_IMPLEMENTATION_ELSEWHERE still defines the functions above"
    else ok; fi
else bad "examples/generate.c does not compile with TFM_IMPLEMENTATION_ELSEWHERE"; fi

# ---------------------------------------------------------------- single: make single
if logged single make -s single BUILD="$build"; then
    write_consumer tfm_single.h "$out/single.c"
    if logged single_c gcc -std=c99 $warn -O0 -fopenmp -I"$build" "$out/single.c" -o "$out/single" -lm; then
        expect_run "the single-header program" 2 "$out/single"
    else bad "build/tfm_single.h does not compile as C99"; fi
    if ! have g++; then skipped "single header as C++: g++ not installed"
    # as C++ for this CPU: the dispatched passes' copies are checked by the portable C build above, their
    # code as C++ by the split check's
    elif logged single_cxx g++ -x c++ -std=c++11 $warn -O0 -march=native -I"$build" "$out/single.c" -o "$out/single_cxx" -lm; then
        expect_run "the single-header C++ program" 1 "$out/single_cxx"
    else bad "build/tfm_single.h does not compile as C++"; fi
    if grep -q '^#include "tfm' "$build/tfm_single.h"; then bad "build/tfm_single.h still includes other tfm headers"; else ok; fi
else
    bad "make single failed"
fi

# ---------------------------------------------------------------- make: make install PREFIX=...
prefix=$out/make-prefix
rm -rf "$prefix"
if logged make_install make -s install PREFIX="$prefix" BUILD="$build"; then
    missing=""
    for f in include/tfm.h include/tfm_tensor.h lib/pkgconfig/tfm.pc lib/cmake/tfm/tfmConfig.cmake bin/tfm-generate; do
        [ -f "$prefix/$f" ] || missing="$missing $f"
    done
    if [ -z "$missing" ]; then ok; else bad "make install left out$missing"; fi
    expect_story "the tfm-generate make installed" "$prefix/bin/tfm-generate"
    if ! have pkg-config; then skipped "pkg-config build: pkg-config not installed"
    else
        write_consumer tfm_tensor.h "$out/pc.c"
        pc_version=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion tfm 2>&1)
        pc_flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs tfm 2>&1)
        if [ "$pc_version" != "$version" ]; then bad "pkg-config --modversion tfm: '$pc_version', want $version"
        elif logged pc_build gcc -std=c99 $warn -O1 "$out/pc.c" -o "$out/pc" $pc_flags; then
            expect_run "the pkg-config program" $make_threads "$out/pc"
        else bad "a program built with pkg-config's flags ($pc_flags) does not compile"; fi
    fi
else
    bad "make install PREFIX=$prefix failed"
fi

# ---------------------------------------------------------------- cmake: add_subdirectory, tools, install, find_package
# consumer_project DIR HOW: a CMake project of one C program linking tfm::tfm; HOW brings tfm in
consumer_project() {
    mkdir -p "$1"
    write_consumer tfm_tensor.h "$1/main.c"
    cat >"$1/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.14)
project(consumer LANGUAGES C)
$2
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE tfm::tfm)
EOF
}
# cmake_build LOG SOURCE BINARY ARGS...: configure and build
cmake_build() {
    local log=$1 src=$2 bin=$3
    shift 3
    rm -rf "$bin"
    logged "$log" cmake -S "$src" -B "$bin" "$@" && logged "$log-build" cmake --build "$bin" -j 2
}
if ! have cmake; then
    skipped "CMake checks: cmake not installed"
else
    consumer_project "$out/cmake-sub" "add_subdirectory(\"$root\" tfm)"
    if cmake_build cmake_sub "$out/cmake-sub" "$out/cmake-sub/b"; then
        expect_run "the add_subdirectory project" 2 "$out/cmake-sub/b/consumer"
    else bad "an add_subdirectory(tfm) project does not build"; fi

    # tfm's own build of the tools (Debug: quick to compile; the warnings are what is checked; TFM_NATIVE:
    # for this CPU, without the dispatched passes, which the portable builds above and below compile), its
    # install without OpenMP
    cprefix=$out/cmake-prefix
    rm -rf "$cprefix"
    if cmake_build cmake_top "$root" "$out/cmake-top" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-Werror" -DTFM_OPENMP=OFF \
        -DTFM_NATIVE=ON &&
        logged cmake_install cmake --install "$out/cmake-top" --prefix "$cprefix"; then
        expect_story "the tfm-generate CMake built and installed" "$cprefix/bin/tfm-generate"
        if have pkg-config; then
            pc_version=$(PKG_CONFIG_PATH=$cprefix/lib/pkgconfig pkg-config --modversion tfm 2>&1)
            if [ "$pc_version" = "$version" ]; then ok; else bad "CMake's tfm.pc says version '$pc_version', want $version"; fi
        fi
    else
        bad "cmake -S . -B b && cmake --build b && cmake --install b failed"
    fi

    for p in cmake-prefix:1 make-prefix:$make_threads; do
        threads=${p#*:} p=${p%:*}
        consumer_project "$out/find-$p" "find_package(tfm $version REQUIRED)"
        if cmake_build "find_$p" "$out/find-$p" "$out/find-$p/b" -DCMAKE_PREFIX_PATH="$out/$p"; then
            expect_run "the find_package project on $p" "$threads" "$out/find-$p/b/consumer"
        else bad "a find_package(tfm) project on $p does not build"; fi
    done
    # a later major version than the installed one is refused
    consumer_project "$out/find-newer" "find_package(tfm $((${version%%.*} + 1)).0 REQUIRED)"
    if cmake -S "$out/find-newer" -B "$out/find-newer/b" -DCMAKE_PREFIX_PATH="$cprefix" >/dev/null 2>&1; then
        bad "find_package(tfm $((${version%%.*} + 1)).0) accepted tfm $version"
    else ok; fi
fi

# ---------------------------------------------------------------- mingw: Windows
# The tools as a user on Windows builds them (-O2, no -march: the portable path), static (no DLLs to ship).
mingw=x86_64-w64-mingw32-gcc
if ! have $mingw; then
    skipped "Windows cross-build: $mingw not installed"
else
    # the whole library once, portable (every dispatched instruction set) at -O0, linked into each program
    # as make does (TFM_IMPLEMENTATION_ELSEWHERE), the programs at -O0; tfm-bench with its own implementation,
    # for this CPU (its library code is the same as the portable object's, whose warnings are checked; the
    # portable passes cost 2.5x the compile). The warnings that need optimisation: the Windows-only code (all
    # of it in tfm_tensor.h: file mapping, threads, clocks) at -O1 for this CPU; the whole library's at -O1
    # took 27 s of CPU, for code that gcc compiles on Linux with -O2 -Werror in every configuration.
    printf '#define TFM_IMPLEMENTATION\n#include "tfm.h"\n' >"$out/mingw_impl.c"
    printf '#define TFM_IMPLEMENTATION\n#include "tfm_tensor.h"\n' >"$out/mingw_tensor.c"
    built=1
    logged mingw_impl $mingw -std=c99 $warn -O0 -fopenmp -Iinclude -c "$out/mingw_impl.c" -o "$out/mingw_impl.o" || built=0
    logged mingw_impl_o1 $mingw -std=c99 $warn -O1 -march=native -fopenmp -Iinclude -c "$out/mingw_tensor.c" \
        -o "$out/mingw_tensor_o1.o" || built=0
    for tool in examples/*.c; do
        name=tfm-$(basename "$tool" .c)
        [ $built = 1 ] && logged "mingw_$name" $mingw -std=c99 $warn -O0 -fopenmp -Iinclude -DTFM_IMPLEMENTATION_ELSEWHERE "$tool" \
            "$out/mingw_impl.o" -o "$out/$name.exe" -static -lm || built=0
    done
    logged mingw_bench $mingw -std=c99 $warn -O0 -march=native -fopenmp -Iinclude benchmarks/*.c -o "$out/tfm-bench.exe" \
        -static -lm ||
        built=0
    if [ $built = 1 ]; then ok; else bad "the tools do not cross-compile for Windows without warnings"; fi
fi

# ---------------------------------------------------------------- clone: make run with nothing but the repository
# What is committed, as CI and a new user get it: the model of `make run` must be in the repository.
clone=$out/clone
rm -rf "$clone"
if ! have git || ! git rev-parse --git-dir >/dev/null 2>&1; then
    skipped "fresh clone: not a git checkout"
elif logged clone git clone -q --depth 1 "file://$root" "$clone" &&
    (cd "$clone" && logged clone_run make -s run CFLAGS="-O0 -march=native" BUILD=build && [ ! -e ../shared ]); then
    if grep -q "^Once upon a time" "$out/clone_run.log"; then ok; else bad "make run in a fresh clone tells no story"; fi
else
    bad "make run in a fresh clone fails"
fi

echo "packaging: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
