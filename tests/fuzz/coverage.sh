#!/usr/bin/env bash
# The source coverage the fuzz corpora reach: each target built with clang's coverage instrumentation
# (-fprofile-instr-generate -fcoverage-mapping) around tests/fuzz/driver.c, every file of its corpus
# replayed once, then llvm-cov's line and region coverage of the headers it is aimed at, and of every
# header over all targets together:
#   bash tests/fuzz/coverage.sh [CORPUS_DIR] [OUT_DIR]
# CORPUS_DIR is tests/fuzz/run.sh's OUT_DIR/corpus (default build/fuzz/corpus: what `make fuzz` grew).
# Needs clang, llvm-profdata and llvm-cov (or their -14 names).
set -u
cd "$(dirname "$0")/../.."
corpus=${1:-build/fuzz/corpus}
out=${2:-build/fuzz/coverage}
mkdir -p "$out" && out=$(cd "$out" && pwd)
corpus=$(cd "$corpus" 2>/dev/null && pwd) || { echo "coverage: no corpus directory ${1:-build/fuzz/corpus}" >&2; exit 1; }
shared=$(cd "${TFM_SHARED:-../shared}" 2>/dev/null && pwd) && export TFM_SHARED=$shared
tool() { command -v "$1" >/dev/null 2>&1 && echo "$1" || echo "$1-14"; }
profdata=$(tool llvm-profdata) cov=$(tool llvm-cov)
if ! command -v clang >/dev/null 2>&1 || ! command -v "$profdata" >/dev/null 2>&1 || ! command -v "$cov" >/dev/null 2>&1; then
    echo "coverage: needs clang, llvm-profdata and llvm-cov" >&2
    exit 1
fi
# target, program, the headers it is aimed at
targets="gguf:gguf:tfm_gguf.h
model_gguf:model:tfm_model.h,tfm_gguf.h
model_llama2c:model:tfm_model.h
tokenizer_bin:tokenizer_bin:tfm_tokenizer.h
tokenize:tokenize:tfm_tokenizer.h,tfm_embed.h
embed_index:embed_index:tfm_embed.h
vocab:vocab:tfm_tokenizer.h
state:state:tfm_model.h
chat:chat:tfm_chat.h"
for program in $(echo "$targets" | cut -d: -f2 | sort -u); do
    clang -std=c99 -O0 -fprofile-instr-generate -fcoverage-mapping -Iinclude -Itests/fuzz \
        "tests/fuzz/fuzz_$program.c" tests/fuzz/driver.c -o "$out/cov_$program" -lm 2>"$out/build_$program.log" &
done
wait
objects="" profiles=""
printf "%-14s %-16s %8s %8s %8s\n" target header files lines regions
for row in $targets; do
    IFS=: read -r target program headers <<<"$row"
    [ -d "$corpus/$target" ] || { echo "coverage: no corpus $corpus/$target" >&2; continue; }
    [ -x "$out/cov_$program" ] || { echo "coverage: cov_$program did not build (see $out/build_$program.log)" >&2; continue; }
    rm -f "$out/$target".*.profraw
    (cd "$out" && LLVM_PROFILE_FILE="$out/$target.%p.profraw" "$out/cov_$program" "$corpus/$target" >/dev/null 2>&1)
    "$profdata" merge -sparse "$out/$target".*.profraw -o "$out/$target.profdata" || continue
    profiles="$profiles $out/$target.profdata"
    case " $objects " in *" $out/cov_$program "*) ;; *) objects="${objects:+$objects -object }$out/cov_$program" ;; esac
    for h in ${headers//,/ }; do
        "$cov" report "$out/cov_$program" -instr-profile="$out/$target.profdata" "include/$h" 2>/dev/null |
            awk -v t="$target" -v h="$h" -v n="$(ls "$corpus/$target" | wc -l)" \
                '$1 ~ /\.h$/ {printf "%-14s %-16s %8s %8s %8s\n", t, h, n, $10, $4}'
    done
done
# every target together: one profile over every program
"$profdata" merge -sparse $profiles -o "$out/all.profdata"
"$cov" report $objects -instr-profile="$out/all.profdata" include/tfm_*.h 2>/dev/null |
    awk '$1 ~ /\.h$/ {n = split($1, p, "/"); printf "%-14s %-16s %8s %8s %8s\n", "(all)", p[n], "", $10, $4}'
