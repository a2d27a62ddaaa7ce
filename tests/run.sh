#!/usr/bin/env bash
# Builds and runs every tests/test_*.c in each configuration and ends with the plain line
# "N passed, M failed", summed over every configuration. Exit status 1 if anything failed.
#
#   native   gcc -O2 -march=native (+OpenMP)
#   asan     the same under AddressSanitizer + UndefinedBehaviorSanitizer (-O1 -g1: line tables, what the reports
#            name; gcc compiled the implementation in 53 s of CPU at -g, 31 s at -g1)
#   scalar   -DTFM_NO_SIMD: the portable fallback path
#   avx2     -mavx2 -mfma -mf16c without AVX-512: the AVX2 path (when the CPU has AVX2)
#   dispatch a portable build (-O2 without -march, x86-64): every test on the path the library picks at
#            run time (checked to be the best /proc/cpuinfo allows), then tensor, quant, attention and gguf_model
#            once per lower path the CPU has (TFM_SIMD=avx2, scalar)
#   cxx      the implementation compiled as C++ by g++, linked with the C tests
#   clang    clang for the tests and the implementation (when clang is installed)
#   clangxx  the implementation compiled as C++ by clang++ at -O2 (not in the default set: clangsan compiles it
#            with clang++ too, under the sanitizers)
#   neon     aarch64 cross-build run under qemu-aarch64 (when both are installed): a portable build
#            (-march=armv8-a), every test on the path it picks (NEON with the dot product, checked); plain
#            NEON's int8 kernels against it bit for bit (test_quant's test_paths_agree)
#   windows  x86_64-w64-mingw32-gcc cross-build run under wine (when both are installed)
#   package  tests/packaging.sh: make install, pkg-config, CMake (add_subdirectory, find_package), the
#            single header, TFM_IMPLEMENTATION in several files, the tools built for Windows, a fresh clone
#   clangsan clang's ASan + UBSan (which catch what gcc's miss: signed overflows gcc folds away, enum
#            values out of range in C++), the implementation compiled as C++ by clang++; tests/cli.sh runs
#            against it too (every tool built with the sanitizers); at -O0, where clang compiles the
#            instrumented library about 15x faster than at -O1 and the tests run about 3x slower
#   fuzz     each libFuzzer target of tests/fuzz for TFM_FUZZ_SECONDS (default 5, built at -O0 with the scalar kernels
#            only) after its regression files (tests/fuzz/run.sh; clang with libFuzzer)
#   valgrind tfm-generate and tfm-perplexity under memcheck, an AVX2 build without OpenMP (tests/valgrind.sh)
#
# TFM_TEST_CONFIGS="native scalar" picks a subset; TFM_TESTS="tensor quant" picks test files ("cli":
# tests/cli.sh, the tfm-generate interface, run in the native configuration; "packaging": the package
# configuration's tests/packaging.sh);
# TFM_BUILD_DIR puts the objects elsewhere than build/. OPENMP=0 builds without OpenMP.
# Only native and avx2 (the two x86 vector paths end to end) run the long checks in full; the others run
# with TFM_TEST_QUICK=1: the sanitizers, scalar and neon (10-80x slower), cxx and clang (the same kernels
# as native through another compiler), dispatch (the native paths again, picked at run time) and windows
# (there for the platform, not the kernels). Tests may shrink or skip their longest runs there (e.g.
# test_gguf_model's full-text perplexity), never what a fast configuration leaves out. Under qemu every NEON
# FMA lane is a softfloat call (float32_muladd: 40% of a profile), so a test's cost there is its FMA count;
# under the sanitizers and qemu, quantizing test weights (the k-quants' and iq4's searches) was the other
# large cost (test_quant and test_moe draw their blocks from a pool quantized once). Configurations run in
# parallel, one per core (TFM_TEST_JOBS=1: one at a time).
# Where the implementation is C++ (cxx, clangxx, clangsan) the tests see TFM_TEST_IMPL_CXX: a value outside an
# enum's range of values is undefined behaviour there, so tests pass such values only when it is not defined.
# Each configuration also counts one check that tfm.h (every header) compiles with TFM_IMPLEMENTATION; every
# test links that umbrella unit (one compile of the implementation per configuration), whose allocations go
# through the tests' hooks (tests/tfm_test.h); the native configuration checks that each test's own set of
# headers compiles on its own (-fsyntax-only).
# Where the time goes: each test's line gives the CPU seconds of its run and its compile, each configuration's
# report the implementation's compile, the summary line each configuration's split (implementation, tests'
# compiles, runs, cli), and $TFM_BUILD_DIR/test/CONFIG/budget the milliseconds per step (name compile run).
set -u
cd "$(dirname "$0")/.."

OPENMP=${OPENMP:-1}
omp=""
[ "$OPENMP" = 1 ] && omp="-fopenmp"
warn="-Wall -Wextra -Werror -pedantic"
cflags="-std=c99 $warn -Iinclude"
cxxflags="-std=c++11 $warn -Iinclude -x c++"
native="-march=native"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

have() { command -v "$1" >/dev/null 2>&1; }
cpu_has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
selected() { [ -z "${TFM_TESTS:-}" ] || [[ " $TFM_TESTS " == *" $1 "* ]]; }

configs=${TFM_TEST_CONFIGS:-"native asan scalar avx2 dispatch cxx clang neon clangsan fuzz valgrind windows package"}
tests=""
for f in tests/test_*.c; do
    name=${f#tests/test_}; name=${name%.c}
    if selected "$name"; then tests="$tests $name"; fi
done

total_pass=0 total_fail=0 total_skip=0 total_cpu=0
summary=""

build_root=${TFM_BUILD_DIR:-build}

# The implementation unit every test of a configuration links ("umbrella": tfm.h), its allocations routed
# to the tests' hooks (tests/tfm_test.h: counting allocators, or a test's own); or the headers one test
# includes, without hooks (the native configuration checks that each test's set compiles on its own).
write_impl() {
    local name=$1 out=$2
    {
        if [ "$name" = umbrella ]; then
            printf '%s\n' '#include <stddef.h>' '#ifdef __cplusplus' 'extern "C" {' '#endif' \
                'void *test_malloc(size_t bytes); void test_free(void *p); void *test_realloc(void *p, size_t bytes);' \
                '#ifdef __cplusplus' '}' '#endif' '#define TFM_MALLOC(sz) test_malloc(sz)' '#define TFM_FREE(p) test_free(p)' \
                '#define TFM_REALLOC(p, sz) test_realloc(p, sz)' '#define TFM_IMPLEMENTATION' '#include "tfm.h"'
        else
            echo "#define TFM_IMPLEMENTATION"
            grep -E '^#include "tfm[a-z_]*\.h"' "tests/test_$name.c" | grep -v tfm_test.h
        fi
    } >"$out.tmp"
    if ! cmp -s "$out.tmp" "$out"; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; fi
}

. tests/cpu_time.sh
secs() { printf '%d.%d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); } # milliseconds as seconds, one decimal

run_config() {
    local cfg=$1 cc=$2 cc_flags=$3 impl_cc=$4 impl_flags=$5 ld_flags=$6 runner=${7:-}
    local dir=$build_root/test/$cfg
    mkdir -p "$dir"
    echo "== $cfg: $cc $cc_flags | impl: $impl_cc $impl_flags"
    local t pass=0 fail=0 skip=0
    write_impl umbrella "$dir/impl_umbrella.c"
    rm -f "$dir/impl_umbrella.o"
    # CPU seconds per step, for the report and $dir/budget (where a configuration's time goes)
    local c0 c1 c2 compile_ms run_ms
    cpu_now c0 "$build_root/test"
    if $impl_cc $impl_flags -c "$dir/impl_umbrella.c" -o "$dir/impl_umbrella.o" 2>"$dir/umbrella.log"; then
        pass=$((pass + 1))
        cpu_now c1 "$build_root/test"
        echo "  implementation compiled ($(secs $((c1 - c0))) s of CPU)"
        echo "impl $((c1 - c0))" >"$dir/budget"
    else
        head -n 30 "$dir/umbrella.log"
        echo "  FAIL umbrella: tfm.h with TFM_IMPLEMENTATION does not compile"
        fail=$((fail + 1))
    fi
    for t in $tests; do
        # every test links the umbrella's implementation unit; natively, the test's own headers are also
        # checked to compile on their own
        local impl="$dir/impl_umbrella.o"
        : >"$dir/$t.log"
        cpu_now c0 "$build_root/test"
        if [ "$cfg" = native ]; then
            write_impl "$t" "$dir/impl_$t.c"
            $impl_cc $impl_flags -fsyntax-only "$dir/impl_$t.c" 2>>"$dir/$t.log" || impl=""
        fi
        if [ -z "$impl" ] || [ ! -f "$impl" ] ||
           ! $cc $cc_flags "tests/test_$t.c" -c -o "$dir/test_$t.o" 2>>"$dir/$t.log" ||
           ! $impl_cc "$dir/test_$t.o" "$impl" $ld_flags -o "$dir/test_$t" 2>>"$dir/$t.log"; then
            head -n 40 "$dir/$t.log"
            echo "  FAIL test_$t: does not build"
            fail=$((fail + 1))
            continue
        fi
        cpu_now c1 "$build_root/test"
        compile_ms=$((c1 - c0)) run_ms=0
        local path
        for path in ${SIMD_PATHS:-build}; do
        # the dispatch configuration: once per path, "auto" the one the library picks itself
        [ "$path" != build ] && [ "$path" != auto ] && [[ " $DISPATCH_TESTS " != *" $t "* ]] && continue
        local out rc line
        cpu_now c1 "$build_root/test"
        out=$(if [ "$path" = build ] || [ "$path" = auto ]; then timeout 1200 $runner "./$dir/test_$t${EXE_SUFFIX:-}"
              else TFM_SIMD=$path timeout 1200 $runner "./$dir/test_$t${EXE_SUFFIX:-}"; fi 2>"$dir/$t.stderr")
        rc=$?
        cpu_now c2 "$build_root/test"
        run_ms=$((run_ms + c2 - c1))
        line=$(printf '%s\n' "$out" | tr -d '\r' | grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
        grep -E '^  (FAIL|SKIP)' "$dir/$t.stderr" | head -n 40
        if [ -z "$line" ]; then
            tail -n 20 "$dir/$t.stderr"
            echo "  FAIL test_$t: exited with status $rc before its summary"
            fail=$((fail + 1))
            continue
        fi
        echo "  $line (CPU: $(secs $((c2 - c1))) s run$([ "$path" = build ] || [ "$path" = auto ] && echo ", $(secs "$compile_ms") s compile"))${SIMD_PATHS:+ [$path]}"
        local p f s
        p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
        s=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/')
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            tail -n 20 "$dir/$t.stderr"
            echo "  FAIL test_$t: exit status $rc"
            f=1
        fi
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
        done
        echo "$t $compile_ms $run_ms" >>"$dir/budget"
    done
    # the command-line interface (tests/cli.sh builds the tools itself), in the native configuration and
    # under clang's sanitizers
    if { [ "$cfg" = native ] || [ "$cfg" = clangsan ]; } && selected cli; then
        # natively, the tools `make` builds with these flags (up to date by the Makefile's header dependencies);
        # under the sanitizers, each program compiled on its own and linked with this configuration's
        # implementation unit
        local tools="" impl_object="" impl_link=""
        cpu_now c0 "$build_root/test"
        # natively the README's programs link make's implementation object too (each compiled whole at -O0 was
        # 2 s of CPU; a header implemented alone is packaging.sh's split check)
        if [ "$cfg" = native ] && make --no-print-directory -s all BUILD="$build_root" OPENMP="$OPENMP" >"$dir/make.log" 2>&1
        then tools=$build_root impl_object="$(cd "$build_root" && pwd)/tfm_impl.o" impl_link="$impl_cc $ld_flags"; fi
        if [ "$cfg" = clangsan ]; then
            # the umbrella's allocations go to the tests' hooks: a program gets plain ones
            printf '%s\n' '#include <stdlib.h>' 'void *test_malloc(size_t bytes) { return malloc(bytes); }' \
                'void test_free(void *p) { free(p); }' 'void *test_realloc(void *p, size_t bytes) { return realloc(p, bytes); }' \
                >"$dir/plain_hooks.c"
            $cc $cc_flags -c "$dir/plain_hooks.c" -o "$dir/plain_hooks.o" 2>>"$dir/cli_hooks.log"
            impl_object="$(cd "$dir" && pwd)/impl_umbrella.o $(cd "$dir" && pwd)/plain_hooks.o" impl_link="$impl_cc $ld_flags"
        fi
        TFM_CLI_TOOLS=$tools TFM_CLI_IMPL=$impl_object TFM_CLI_LINK=$impl_link TFM_BENCH=${TFM_BENCH:-$build_root/tfm-bench} \
            run_script cli "$dir/cli.stderr" tests/cli.sh "$dir" "$cc $cc_flags"
        cpu_now c2 "$build_root/test"
        echo "  (cli: $(secs $((c2 - c0))) s of CPU, the tools' build included; by section: $(sections "$dir/cli.budget"))"
        echo "cli 0 $((c2 - c0))" >>"$dir/budget"
    fi
    echo "$pass $fail $skip" >"$dir/counts"
}

# run_script NAME STDERR_FILE SCRIPT ARGS...: a check script ending "NAME: N passed, M failed, S skipped"
# (its FAIL and SKIP lines on stderr); its counts are added to the caller's pass, fail and skip.
run_script() {
    local name=$1 log=$2 line
    shift 2
    line=$(bash "$@" 2>"$log" | tail -n 1)
    grep -E '^  (FAIL|SKIP)' "$log" | head -n 40
    echo "  $line"
    if [[ "$line" =~ ^$name:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
        pass=$((pass + BASH_REMATCH[1])); fail=$((fail + BASH_REMATCH[2])); skip=$((skip + BASH_REMATCH[3]))
    else fail=$((fail + 1)); fi
}

# sections FILE: the lines "NAME MS" of a script's budget (cli.sh's sections, packaging.sh's steps) summed by
# name, in seconds, in the order they first come
sections() {
    [ -f "$1" ] && awk '{ if (!($1 in ms)) order[++n] = $1; ms[$1] += $2 }
        END { for (i = 1; i <= n; i++) printf "%s%s %.1f", (i > 1 ? ", " : ""), order[i], ms[order[i]] / 1000 }' "$1"
}

# The package configuration: tests/packaging.sh, run when TFM_TESTS is unset or names "packaging".
run_packaging() {
    local dir=$build_root/test/package pass=0 fail=0 skip=0
    echo "== package: tests/packaging.sh (install, pkg-config, CMake, single header, split implementation, Windows, clone)"
    if selected packaging; then
        run_script packaging "$dir/packaging.stderr" tests/packaging.sh "$dir" "$build_root"
        echo "  (s of CPU by step: $(sections "$dir/steps"))"
    fi
    echo "$pass $fail $skip" >"$dir/counts"
}

# Configurations run side by side, one per core (TFM_TEST_JOBS overrides): each writes its report to
# a file, printed in the order of $configs as soon as it is done; the counts are summed at the end. OpenMP threads wait
# passively: spinning at every barrier while another configuration (or anything else) holds the other
# core made the tests 2-5x slower, 2.4x under qemu.
jobs=${TFM_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
report() { echo "$build_root/test/$1.report"; }
start_config() {
    local cfg=$1
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || sleep 1; done
    { local started; started=$(date +%s)
      run_one "$cfg" >"$(report "$cfg")" 2>&1
      # wall seconds, then the CPU seconds of everything the configuration ran, which the machine's other
      # load does not inflate (bash's `times`: its children's user and system time; not in a pipe or
      # $(...), whose subshell has no children of its own)
      times >"$build_root/test/$cfg/times"
      echo "$(($(date +%s) - started)) $(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
          printf "%d", t }' "$build_root/test/$cfg/times")" >"$build_root/test/$cfg/seconds"
      touch "$build_root/test/$cfg/done"; } &
}

run_one() {
    local cfg=$1
    case $cfg in
    native) run_config native gcc "$cflags -O2 $native $omp" gcc "$cflags -O2 $native $omp" "$omp -lm" ;;
    asan) TFM_TEST_QUICK=1 run_config asan gcc "$cflags -O1 -g1 $native $omp $sanitize" gcc "$cflags -O1 -g1 $native $omp $sanitize" "$omp $sanitize -lm" ;;
    scalar) TFM_TEST_QUICK=1 run_config scalar gcc "$cflags -O2 -DTFM_NO_SIMD $omp" gcc "$cflags -O2 -DTFM_NO_SIMD $omp" "$omp -lm" ;;
    avx2)
        if cpu_has avx2 && cpu_has fma && cpu_has f16c; then
            run_config avx2 gcc "$cflags -O2 -mavx2 -mfma -mf16c $omp" gcc "$cflags -O2 -mavx2 -mfma -mf16c $omp" "$omp -lm"
        else echo "== avx2: skipped (CPU without AVX2/FMA/F16C)"; fi ;;
    dispatch)
        # one portable build (-O2, no -march): the int8 kernels for every x86-64 path, picked at run time;
        # every test on the path the library picks (checked against /proc/cpuinfo: the best), the kernel
        # tests again on each lower path the CPU has, forced through TFM_SIMD
        local best=scalar paths="auto"
        if cpu_has avx2 && cpu_has fma; then best=avx2; paths="$paths avx2"; fi
        if cpu_has avx512f && cpu_has avx512bw && cpu_has avx512vl && cpu_has avx512dq && cpu_has avx512_vnni; then best=avx512; fi
        [ "$best" = avx2 ] && paths=auto
        paths="$paths scalar"
        if [ "$(uname -m)" != x86_64 ]; then echo "== dispatch: skipped (x86-64 only)"
        else TFM_TEST_QUICK=1 TFM_TEST_EXPECT_SIMD=$best SIMD_PATHS=$paths DISPATCH_TESTS="tensor quant attention gguf_model" \
            run_config dispatch gcc "$cflags -O2 $omp" gcc "$cflags -O2 $omp" "$omp -lm"; fi ;;
    cxx) TFM_TEST_QUICK=1 run_config cxx gcc "$cflags -O2 $native $omp -DTFM_TEST_IMPL_CXX" g++ "$cxxflags -O2 $native $omp" "$omp -lm" ;;
    clang)
        if have clang; then TFM_TEST_QUICK=1 run_config clang clang "$cflags -O2 $native $omp" clang "$cflags -O2 $native $omp" "$omp -lm"
        else echo "== clang: skipped (clang not installed)"; fi ;;
    clangxx)
        if have clang++; then run_config clangxx clang "$cflags -O2 $native $omp -DTFM_TEST_IMPL_CXX" clang++ "$cxxflags -O2 $native $omp" "$omp -lm"
        else echo "== clangxx: skipped (clang++ not installed)"; fi ;;
    neon)
        if have aarch64-linux-gnu-gcc && have qemu-aarch64; then
            # a portable build (NEON, the int8 kernels also with the dot product, picked at run time):
            # every test on the path it picks (qemu's CPU has the dot product); test_quant's
            # test_paths_agree compares plain NEON's int8 kernels with it bit for bit
            arm="-O2 -march=armv8-a $omp"
            TFM_TEST_QUICK=1 TFM_TEST_EXPECT_SIMD=neon_dotprod run_config neon aarch64-linux-gnu-gcc "$cflags $arm" aarch64-linux-gnu-gcc "$cflags $arm" "-static $omp -lm" qemu-aarch64
        else echo "== neon: skipped (needs aarch64-linux-gnu-gcc and qemu-aarch64)"; fi ;;
    windows)
        if have x86_64-w64-mingw32-gcc && have wine; then
            # in the user's wine prefix (WINEPREFIX, default ~/.wine: about 700 MB, made by the first run)
            TFM_TEST_QUICK=1 EXE_SUFFIX=.exe WINEDEBUG=-all run_config windows x86_64-w64-mingw32-gcc \
                "$cflags -O2 $native $omp" x86_64-w64-mingw32-gcc "$cflags -O2 $native $omp" "-static $omp -lm" wine
        else echo "== windows: skipped (needs x86_64-w64-mingw32-gcc and wine)"; fi ;;
    package) run_packaging ;;
    clangsan)
        if have clang && have clang++; then
            TFM_TEST_QUICK=1 run_config clangsan clang "$cflags -O0 -g $native $omp $sanitize -DTFM_TEST_IMPL_CXX" clang++ \
                "$cxxflags -O0 -g $native $omp $sanitize" "$omp $sanitize -lm"
        else echo "== clangsan: skipped (clang and clang++ not installed)"; fi ;;
    fuzz | valgrind)
        local script=tests/fuzz/run.sh args="${TFM_FUZZ_SECONDS:-5} $build_root/fuzz" line
        if [ -n "${TFM_TESTS:-}" ] && [[ " $TFM_TESTS " != *" $cfg "* ]]; then
            echo "== $cfg: skipped (TFM_TESTS names other tests)"
            return
        fi
        [ "$cfg" = valgrind ] && script=tests/valgrind.sh args=$build_root/test/valgrind
        echo "== $cfg: bash $script $args"
        line=$(bash $script $args 2>"$build_root/test/$cfg/stderr" | tee "$build_root/test/$cfg/stdout" | tail -n 1)
        grep -E '^  (FAIL|SKIP)' "$build_root/test/$cfg/stderr" | head -n 40
        grep -E '^  fuzz ' "$build_root/test/$cfg/stdout"
        echo "  $line"
        if [[ "$line" =~ ^[a-z]+:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
            echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}" >"$build_root/test/$cfg/counts"
        else echo "0 1 0" >"$build_root/test/$cfg/counts"; fi ;;
    *) echo "unknown test configuration '$cfg'"; echo "0 1 0" >"$build_root/test/$cfg/counts" ;;
    esac
}

for cfg in $configs; do
    mkdir -p "$build_root/test/$cfg"
    rm -f "$build_root/test/$cfg/counts" "$build_root/test/$cfg/done" "$build_root/test/$cfg/seconds" "$build_root/test/$cfg/budget"
done
# the longest first (by the CPU seconds of the last clean-clone CI run: neon 306, clangsan 207, dispatch 142,
# fuzz 131, native 128, avx2 121, package 118, asan 91, scalar 87, cxx 50, valgrind 49, clang 45; windows, not
# on CI, takes minutes under wine), so that no long one starts late and runs alone at the end (on those numbers
# two cores finish at 744 and 731 s; the old order, package last, at 776 and 699)
longest_first="neon windows clangsan dispatch fuzz native avx2 package asan scalar cxx valgrind clang"
{
    for cfg in $longest_first; do [[ " $configs " == *" $cfg "* ]] && start_config "$cfg"; done
    for cfg in $configs; do [[ " $longest_first " == *" $cfg "* ]] || start_config "$cfg"; done
    wait
} &
starter=$!
for cfg in $configs; do
    while [ ! -f "$build_root/test/$cfg/done" ] && kill -0 "$starter" 2>/dev/null; do sleep 1; done
    cat "$(report "$cfg")" 2>/dev/null
    counts=$build_root/test/$cfg/counts
    if [ -f "$counts" ]; then
        read -r p f s <"$counts"
        total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
        read -r wall cpu <"$build_root/test/$cfg/seconds" 2>/dev/null
        split=""
        [ -f "$build_root/test/$cfg/budget" ] && split=$(awk '$1 == "impl" { i += $2; next } $1 == "cli" { l += $3; next }
            { c += $2; r += $3 } END { printf ": implementation %.0f, tests compile %.0f, run %.0f", i / 1000, c / 1000, r / 1000
            if (l) printf ", cli %.0f", l / 1000 }' "$build_root/test/$cfg/budget")
        summary="$summary\n  $cfg: $p passed, $f failed, $s skipped (${wall:-?} s, ${cpu:-?} s of CPU$split)"
        total_cpu=$((total_cpu + ${cpu:-0}))
    elif ! grep -q "^== $cfg: skipped" "$(report "$cfg")"; then
        echo "  FAIL $cfg: the configuration stopped before its counts"
        total_fail=$((total_fail + 1))
        summary="$summary\n  $cfg: did not finish"
    fi
done

wait "$starter"
printf "== summary (seconds: each configuration's wall time and CPU time, %s side by side; %s s of CPU in all)$summary\n" "$jobs" "$total_cpu"
echo "$total_skip skipped (a file from ../shared is absent, or a long run left to the fast configurations)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
