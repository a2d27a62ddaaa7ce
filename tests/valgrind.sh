#!/usr/bin/env bash
# tfm-generate and tfm-perplexity under valgrind's memcheck: no invalid read or write, no use of an
# uninitialised value, no leak, on the paths a user takes (a llama2.c model and its tokenizer, a GGUF model
# with its vocab, perplexity, a corrupt file). Valgrind knows no AVX-512 and no OpenMP runtime is clean
# under it, so the build is AVX2 without OpenMP. tests/run.sh's valgrind configuration runs it.
#   bash tests/valgrind.sh OUT_DIR      ends "valgrind: N passed, M failed, S skipped"
set -u
cd "$(dirname "$0")/.."
out=${1:-build/test/valgrind}
mkdir -p "$out"
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "  FAIL valgrind: $*" >&2; fail=$((fail + 1)); }
finish() { echo "valgrind: $pass passed, $fail failed, $skip skipped"; [ $fail -eq 0 ]; exit; }

shared=${TFM_SHARED:-../shared}
model=$shared/models/stories260K.bin tok=$shared/models/tok512.bin gguf=$shared/models/stories260K.gguf
golden=$shared/golden/stories260K.greedy.once_upon_a_time.n200.txt text=$shared/golden/tinystories.valid.first500.txt
if ! command -v valgrind >/dev/null 2>&1 || ! grep -qw avx2 /proc/cpuinfo; then
    echo "  SKIP valgrind: valgrind (and a CPU with AVX2) needed" >&2
    skip=1
    finish
fi
if [ ! -f "$model" ] || [ ! -f "$tok" ] || [ ! -f "$gguf" ] || [ ! -f "$golden" ] || [ ! -f "$text" ]; then
    echo "  SKIP valgrind: stories260K, tok512.bin or the golden files are missing" >&2
    skip=1
    finish
fi
# -g1: line tables (what memcheck's reports name), a third of -g's compile time for the dispatched kernels;
# -O1, as valgrind's manual advises (-O2 and above can give uninitialised-value errors that are not there):
# the implementation compiled in 49 s of CPU instead of 85 (load 10), the runs below took 5% longer
cc="gcc -std=c99 -O1 -g1 -mavx2 -mfma -mf16c -Iinclude"
# the implementation once, linked into both tools (as make builds them)
printf '#define TFM_IMPLEMENTATION\n#include "tfm.h"\n' >"$out/impl.c"
rm -f "$out/impl.o"
for tool in generate perplexity; do
    if ! { [ -f "$out/impl.o" ] || $cc -c "$out/impl.c" -o "$out/impl.o"; } 2>"$out/build.log" ||
       ! $cc -DTFM_IMPLEMENTATION_ELSEWHERE examples/$tool.c "$out/impl.o" -o "$out/tfm-$tool" -lm 2>"$out/build.log"; then
        head -n 20 "$out/build.log" >&2
        bad "examples/$tool.c does not build"
        finish
    fi
done
# Runs a tool under memcheck; $rc is its exit status (99: valgrind found an error), the report in $out/vg.log.
vg() {
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        --log-file="$out/vg.log" "$@" >"$out/stdout" 2>"$out/stderr"
    rc=$?
    if [ -s "$out/vg.log" ]; then head -n 30 "$out/vg.log" >&2; rc=99; fi
}
vg "$out/tfm-generate" -m "$model" -z "$tok" -p "Once upon a time" -n 40 --temp 0
if [ $rc -eq 0 ] && cmp -s -n 100 "$out/stdout" "$golden"; then ok; else bad "tfm-generate llama2.c: exit $rc"; fi
vg "$out/tfm-generate" -m "$gguf" -p "Lily had a red ball" -n 30 --temp 0.8 --top-k 40 --seed 5
if [ $rc -eq 0 ] && [ -s "$out/stdout" ]; then ok; else bad "tfm-generate GGUF, sampling: exit $rc"; fi
vg "$out/tfm-perplexity" -m "$gguf" -f "$text" -c 64 --chunks 2
if [ $rc -eq 0 ] && grep -q "PPL = " "$out/stdout"; then ok; else bad "tfm-perplexity: exit $rc"; fi
head -c 300000 "$gguf" >"$out/cut.gguf"
vg "$out/tfm-generate" -m "$out/cut.gguf" -n 5
if [ $rc -eq 1 ] && [ "$(wc -l <"$out/stderr")" -eq 1 ]; then ok; else bad "a cut GGUF: exit $rc, $(head -c 200 "$out/stderr")"; fi
vg "$out/tfm-generate" -m "$model" -z "$tok" --bogus
if [ $rc -eq 2 ]; then ok; else bad "a usage error: exit $rc"; fi
finish
