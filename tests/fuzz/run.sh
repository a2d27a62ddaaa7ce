#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer with ASan + UBSan, clang) and runs each on its seed corpus for a fixed
# time, after replaying every regression file (each finding so far):
#   bash tests/fuzz/run.sh [SECONDS] [OUT_DIR]
# tests/run.sh's fuzz configuration runs it for a short time on every run (TFM_FUZZ_SECONDS), `make fuzz`
# for longer (FUZZ_SECONDS). Prints each target's executions and coverage (libFuzzer's edge count, "cov")
# and ends "fuzz: N passed, M failed, S skipped" like cli.sh. The working corpus stays in
# OUT_DIR/corpus/<target> (TFM_FUZZ_CORPUS=DIR: DIR/<target>, e.g. outside a worktree's build/ so that it
# outlives the worktree), so longer runs build on earlier ones. A finding leaves its input in
# OUT_DIR/<target>/crash-* (or leak-*, timeout-*): fix the bug, then copy the input into
# tests/fuzz/regressions/<target>/ so it is replayed from then on.
#   targets         what they read                                    seeds (tests/fuzz/seeds.sh)
#   gguf            GGUF bytes: every getter, the writer round trip     generated files of every type
#   model_gguf      model bytes: load, context, forward, vocab          tiny tfm-synth GGUF models
#   model_llama2c   (the same program)                                  tiny tfm-synth llama2.c models
#   tokenizer_bin   llama2.c tokenizer.bin + a text                     generated vocabs, tok512.bin
#   tokenize        text through each tokenizer kind, then passages      texts
#   embed_index     a retrieval index (checksums fixed up), a search    generated indexes
#   vocab           a GGUF vocab (llama, gpt2, bert) + a text and ids     generated vocabs, cuts of ../shared/vocab
#   state           a context state into 3 contexts (checksum fixed up)   states of tiny_model.h's model
#   chat            a chat template text + a conversation, rendered       each family, marker texts, real templates
# Short runs (under a minute a target: CI) build at -O0 with the scalar kernels only (TFM_NO_DISPATCH: the
# instrumented AVX2 and AVX-512 passes made each model-reading target about 40 s of CPU to build instead of
# 12; the readers are the same). Long ones build gguf, chat and tokenizer_bin at -O1 -gline-tables-only
# (about twice the executions a second of -O0) and the targets that compile the whole library at -O0 with
# every path: with the sanitizers an -O1 build of those took minutes of CPU without finishing (see the
# README's Fuzzing section); their tokenizer is built apart at -O1 (tests/fuzz/tokenizer_impl.c, the others
# defining TFM_TOKENIZER_IMPLEMENTATION_DONE), and so is the harness of the two that link a shared
# implementation. TFM_FUZZ_OPT overrides both (and builds one program in one piece). TFM_FUZZ_TARGETS="gguf chat"
# runs some targets (only their programs are built), TFM_FUZZ_RUNS=N stops each at N executions.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-5}
out=${2:-build/fuzz}
mkdir -p "$out" && out=$(cd "$out" && pwd)
# tokenize reads ../shared/models/tok512.bin (absent: a vocab of its own)
shared=$(cd "${TFM_SHARED:-../shared}" 2>/dev/null && pwd) && export TFM_SHARED=$shared
cc=${TFM_FUZZ_CC:-clang}
targets=${TFM_FUZZ_TARGETS:-gguf model_gguf model_llama2c tokenizer_bin tokenize embed_index vocab state chat}
runs=${TFM_FUZZ_RUNS:-}
corpora=${TFM_FUZZ_CORPUS:-$out/corpus}
mkdir -p "$corpora" && corpora=$(cd "$corpora" && pwd)
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "  FAIL fuzz: $*" >&2; fail=$((fail + 1)); }

if ! command -v "$cc" >/dev/null 2>&1 || ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
       "$cc" -x c - -fsanitize=fuzzer -o "$out.probe" >/dev/null 2>&1; then
    echo "  SKIP fuzz: $cc with libFuzzer (-fsanitize=fuzzer: clang and libclang-rt) is not installed" >&2
    echo "fuzz: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
rm -f "$out.probe"
# the build of a program: short runs -O0 scalar; long ones -O1 for the programs that compile only a reader
# (an -O1 build with the sanitizers of the whole library did not finish in minutes of CPU), -O0 with
# every path for the rest; TFM_FUZZ_OPT for all
opt_of() {
    if [ -n "${TFM_FUZZ_OPT:-}" ]; then echo "$TFM_FUZZ_OPT"
    elif [ "$seconds" -lt 60 ]; then echo -O0 -g -DTFM_NO_DISPATCH
    else case $1 in gguf | chat | tokenizer_bin | tokenizer_impl | harness) echo -O1 -gline-tables-only ;; *) echo -O0 -g ;; esac; fi
}
# long runs: the whole-library programs take their tokenizer from tokenizer.o (-O1); "=": the header's own
# (empty) definition, so its redefinition is no warning
split=""
[ -z "${TFM_FUZZ_OPT:-}" ] && [ "$seconds" -ge 60 ] && split="-DTFM_TOKENIZER_IMPLEMENTATION_DONE= $out/tokenizer.o"
# the numeric kernels, hashing and message escaping are left out of the coverage instrumentation
# (kernels.ignorelist): a forward pass under the fuzzer was mostly their comparison hooks
flags_of() {
    echo "-std=c99 -pedantic -Wall -Wextra -Werror $(opt_of "$1") -fsanitize=${2:-fuzzer},address,undefined" \
        "-fno-sanitize-recover=all -fsanitize-coverage-ignorelist=$root/tests/fuzz/kernels.ignorelist -Iinclude -Itests/fuzz"
}
# the targets and the seed corpus build side by side; the two that use only the public API and the whole
# model link one instrumented implementation, compiled once (TFM_IMPLEMENTATION_ELSEWHERE)
printf '#define TFM_IMPLEMENTATION\n#include "tfm.h"\n' >"$out/impl.c"
rm -f "$out/impl.o" "$out/tokenizer.o" "$out"/fuzz_{gguf,model,tokenizer_bin,tokenize,embed_index,vocab,state,chat} # never an earlier build's
programs=$(for t in $targets; do case $t in model_*) echo model ;; *) echo "$t" ;; esac; done | sort -u)
shared_impl=$(for p in $programs; do case $p in model | tokenize) echo "$p" ;; esac; done)
whole=$(for p in $programs; do case $p in model | tokenize | vocab | state) echo "$p" ;; esac; done)
if [ -n "$split" ] && [ -n "$whole" ]; then
    $cc $(flags_of tokenizer_impl fuzzer-no-link) -c tests/fuzz/tokenizer_impl.c -o "$out/tokenizer.o" 2>"$out/build_tokenizer.log" ||
        cat "$out/build_tokenizer.log" >&2
fi
{
    if [ -z "$shared_impl" ]; then :
    elif $cc $(flags_of model fuzzer-no-link) ${split%% *} -c "$out/impl.c" -o "$out/impl.o" 2>"$out/build_impl.log"; then
        for src in $shared_impl; do
            harness=$src
            [ -n "$split" ] && harness=harness
            $cc $(flags_of "$harness") -DTFM_IMPLEMENTATION_ELSEWHERE "tests/fuzz/fuzz_$src.c" "$out/impl.o" \
                ${split#* } -o "$out/fuzz_$src" -lm 2>"$out/build_$src.log"
        done
    else
        for src in $shared_impl; do cp "$out/build_impl.log" "$out/build_$src.log"; done
    fi
} &
for src in $programs; do
    case $src in model | tokenize) continue ;; vocab | state) extra=$split ;; *) extra="" ;; esac
    $cc $(flags_of "$src") "tests/fuzz/fuzz_$src.c" $extra -o "$out/fuzz_$src" -lm 2>"$out/build_$src.log" &
done
bash tests/fuzz/seeds.sh "$out/seeds" "gcc -std=c99 -pedantic -Wall -Wextra -Werror -O0 -Iinclude" 2>"$out/seeds.log" &
seeds=$!
wait $seeds
seeds_ok=$?
wait
if [ $seeds_ok -ne 0 ]; then
    head -n 20 "$out/seeds.log" >&2
    bad "the seed corpus could not be made"
fi

# target name, program, dictionary, longest input
run_target() {
    local target=$1 program=$2 dict=$3 max_len=$4 corpus=$corpora/$1 log=$out/$1.log files
    if [ ! -x "$out/$program" ]; then
        head -n 20 "$out/build_${program#fuzz_}.log" >&2
        bad "$program does not build"
        return
    fi
    mkdir -p "$corpus" "$out/$target"
    cp "$out/seeds/$target"/* "$corpus/" 2>/dev/null
    # every finding so far first, one run each
    files=$(ls "$root"/tests/fuzz/regressions/$target/* 2>/dev/null)
    if [ -n "$files" ]; then
        if (cd "$out/$target" && "$out/$program" $files >"$out/$target.replay.log" 2>&1); then ok
        else tail -n 30 "$out/$target.replay.log" >&2; bad "$target: a regression file fails again"; fi
    fi
    local TIMEFORMAT='%R %U %S' times rc executed cov
    # the time keyword's wall, user and system seconds: executions per CPU second do not depend on the load
    times=$({ time (cd "$out/$target" && "$out/$program" "$corpus" -max_total_time="$seconds" ${runs:+-runs="$runs"} \
        -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" ${dict:+-dict="$root/$dict"} -print_final_stats=1 \
        >"$log" 2>&1); } 2>&1)
    rc=$?
    executed=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}')
    cov=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$log" | tail -n 1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
    if [ $rc -eq 0 ] && [ -n "$executed" ]; then
        ok
        read -r wall user sys <<<"$times"
        printf "  fuzz %-14s %9s executions in %s s (%s s of CPU: %s a CPU second), cov %s, corpus %s files\n" "$target" \
            "$executed" "${wall%.*}" "$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.1f", u + s}')" \
            "$(awk -v n="$executed" -v u="$user" -v s="$sys" 'BEGIN {printf "%.0f", (u + s > 0 ? n / (u + s) : 0)}')" \
            "${cov:-?}" "$(ls "$corpus" | wc -l)"
    else
        grep -E 'ERROR|SUMMARY|property broken|Test unit written' "$log" | head -n 10 >&2
        bad "$target found something (exit $rc): see $log and $out/$target/"
    fi
}

for target in $targets; do
    case $target in
    gguf) run_target gguf fuzz_gguf tests/fuzz/gguf.dict 65536 ;;
    model_gguf) run_target model_gguf fuzz_model tests/fuzz/gguf.dict 32768 ;;
    model_llama2c) run_target model_llama2c fuzz_model "" 32768 ;;
    tokenizer_bin) run_target tokenizer_bin fuzz_tokenizer_bin "" 16384 ;;
    tokenize) run_target tokenize fuzz_tokenize "" 512 ;;
    embed_index) run_target embed_index fuzz_embed_index "" 8192 ;;
    vocab) run_target vocab fuzz_vocab tests/fuzz/gguf.dict 32768 ;;
    state) run_target state fuzz_state "" 2048 ;;
    chat) run_target chat fuzz_chat tests/fuzz/chat.dict 8192 ;;
    *) bad "no fuzz target $target" ;;
    esac
done
echo "fuzz: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
