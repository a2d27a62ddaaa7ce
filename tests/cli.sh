#!/usr/bin/env bash
# The command-line interface of tfm-generate, as scripts (and the project's checks) use it: the greedy
# story equals llama2.c's, stdout holds only the text, stderr ends with the timing line, and bad
# arguments or files exit non-zero with one line; a GGUF model needs no -z, a corrupt one is such an
# error. Then tfm-perplexity's, tfm-synth's, tfm-quantize's, tfm-tokenize's, tfm-embed's and tfm-retrieve's. tests/run.sh runs it in the
# native configuration.
#   bash tests/cli.sh OUT_DIR "COMPILER AND FLAGS"      ends "cli: N passed, M failed, S skipped"
set -u
cd "$(dirname "$0")/.."
out=${1:-build/test/native}
cc=${2:-gcc -std=c99 -O2 -march=native -fopenmp -Iinclude}
mkdir -p "$out"
# each tool is built by this run (a section that builds one may be skipped): never an earlier run's binary
rm -f "$out"/tfm-generate "$out"/tfm-perplexity "$out"/tfm-synth "$out"/tfm-quantize "$out"/tfm-tokenize "$out"/tfm-embed \
    "$out"/tfm-retrieve "$out"/tfm-chat
gen=$out/tfm-generate
pass=0 fail=0 skip=0

# build_tool NAME EXE: examples/NAME.c built with $cc, or copied from TFM_CLI_TOOLS (the tools `make` has just
# built with these flags, kept up to date by the Makefile's dependencies on every header) when that is set.
# With TFM_CLI_IMPL (objects of the implementation built with these flags) and TFM_CLI_LINK (the command
# that links it), the program is compiled with TFM_IMPLEMENTATION_ELSEWHERE and linked with that object, as
# `make` builds the tools: the implementation is compiled once, not once a program.
compile_program() {
    if [ -n "${TFM_CLI_IMPL:-}" ]; then
        $cc -DTFM_IMPLEMENTATION_ELSEWHERE -c "$1" -o "$2.o" 2>"$out/cli_build.log" &&
            ${TFM_CLI_LINK:-$cc} "$2.o" $TFM_CLI_IMPL -o "$2" -lm 2>>"$out/cli_build.log"
    else $cc "$1" -o "$2" -lm 2>"$out/cli_build.log"; fi
}
build_tool() {
    if [ -n "${TFM_CLI_TOOLS:-}" ] && [ -x "$TFM_CLI_TOOLS/tfm-$1" ]; then cp "$TFM_CLI_TOOLS/tfm-$1" "$2"
    else compile_program "examples/$1.c" "$2"; fi
}
ok() { pass=$((pass + 1)); }
bad() { echo "  FAIL cli: $*" >&2; fail=$((fail + 1)); }
# section NAME: the CPU milliseconds of the section that ends here (every child waited for since the last
# mark: tests/cpu_time.sh) go to $out/cli.budget; NAME's begins
. tests/cpu_time.sh
cli_section=generate cli_mark=0
rm -f "$out/cli.budget"
section() {
    local now
    cpu_now now "$out"
    echo "$cli_section $((now - cli_mark))" >>"$out/cli.budget"
    cli_section=$1 cli_mark=$now
}

if ! build_tool generate "$gen"; then
    head -n 20 "$out/cli_build.log" >&2
    bad "examples/generate.c does not build"
    echo "cli: $pass passed, $fail failed, $skip skipped"
    exit 1
fi

shared=${TFM_SHARED:-../shared}
model=$shared/models/stories260K.bin tok=$shared/models/tok512.bin
golden=$shared/golden/stories260K.greedy.once_upon_a_time.n200.txt

# Runs the generator; $rc, $out_text (stdout file) and $err_text (stderr file) describe the run.
run() {
    "$gen" "$@" >"$out/cli_stdout" 2>"$out/cli_stderr"
    rc=$?
}

if [ -f "$model" ] && [ -f "$tok" ] && [ -f "$golden" ]; then
    # llama2.c's -n 200 counts BOS and the 4 prompt tokens too: 196 new tokens
    for threads in 1 2; do
        run -m "$model" -z "$tok" -p "Once upon a time" -n 196 --temp 0 --threads $threads
        if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$golden"; then ok
        else bad "greedy story with $threads thread(s) (exit $rc) differs from llama2.c's"; fi
        last=$(tail -n 1 "$out/cli_stderr")
        if [[ "$last" =~ ^prefill:\ 5\ tok,\ [0-9.]+\ tok/s\ \|\ decode:\ 196\ tok,\ [0-9.]+\ tok/s\ \|\ peak\ RSS:\ [0-9.]+\ MiB$ ]]; then ok
        else bad "last stderr line: '$last'"; fi
    done
    run -m "$model" -z "$tok" -n 20 --seed 7
    if [ $rc -eq 0 ] && [ -s "$out/cli_stdout" ]; then ok; else bad "defaults (no prompt, sampling) exit $rc"; fi

    # bad arguments and files: non-zero (not a signal), nothing on stdout, one line on stderr
    expect_error() {
        local what=$1
        shift
        run "$@"
        if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ]; then ok
        else bad "$what: exit $rc, stdout $(wc -c <"$out/cli_stdout") bytes, stderr: $(head -c 300 "$out/cli_stderr")"; fi
    }
    # usage errors (tfm_args.h): exit status 2, one line naming the argument
    expect_usage() {
        local what=$1 says=$2
        shift 2
        run "$@"
        if [ $rc -eq 2 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] &&
           grep -qF -- "$says" "$out/cli_stderr"; then ok
        else bad "$what: exit $rc (want 2), stdout $(wc -c <"$out/cli_stdout") bytes, stderr (want '$says'): $(head -c 300 "$out/cli_stderr")"; fi
    }
    expect_usage "no arguments" "give a model"
    expect_error "no tokenizer" -m "$model"
    expect_usage "option without value" "-n needs a value" -m "$model" -z "$tok" -n
    expect_usage "unknown option" "unknown option '--bogus'" -m "$model" -z "$tok" --bogus 1
    expect_usage "unknown option last" "unknown option '--bogus'" -m "$model" -z "$tok" --bogus
    expect_usage "stray argument" "unexpected argument 'stray'" -m "$model" -z "$tok" stray
    expect_usage "-n not a number" "-n wants an integer in 0..1073741824, got 'abc'" -m "$model" -z "$tok" -n abc
    expect_usage "-n negative" "-n wants an integer" -m "$model" -z "$tok" -n -1
    expect_usage "--temp negative" "--temp wants a number >= 0, got '-1'" -m "$model" -z "$tok" --temp -1
    expect_usage "--top-p 0" "--top-p wants a number in (0, 1], got '0'" -m "$model" -z "$tok" --top-p 0
    expect_usage "--threads 0" "--threads wants an integer" -m "$model" -z "$tok" --threads 0
    expect_usage "--seed negative" "--seed wants a non-negative integer, got '-3'" -m "$model" -z "$tok" --seed -3
    expect_usage "-p and -f" "not both" -m "$model" -z "$tok" -p a -f "$golden"
    expect_usage "--kv-type f16" "--kv-type wants one of f32 i8, got 'f16'" -m "$model" -z "$tok" --kv-type f16
    expect_usage "a flag with a value" "--moe-stats takes no value" -m "$model" -z "$tok" --moe-stats=1
    expect_usage "control bytes in an option" "unknown option '--\x1b[2J'" -m "$model" --$'\e[2J'
    # llama.cpp's short names and --name=value: the greedy story again
    printf 'Once upon a time' >"$out/prompt.txt"
    for args in "-t 2 -c 512 -s 3 --temp 0" "--threads=2 --ctx-size=512 --seed=3 --temp=0" "-t 100000 --temp 0"; do
        run -m "$model" -z "$tok" -f "$out/prompt.txt" -n 196 $args
        if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$golden"; then ok
        else bad "-f with $args (exit $rc) differs from llama2.c's story: $(head -c 300 "$out/cli_stderr")"; fi
    done
    run -m "$model" -z "$tok" -f /dev/zero -n 5
    if [ $rc -eq 1 ] && grep -q "is longer than" "$out/cli_stderr"; then ok; else bad "-f /dev/zero: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
    expect_error "missing model" -m "$out/no_such_model.bin" -z "$tok"
    expect_error "missing tokenizer" -m "$model" -z "$out/no_such_tokenizer.bin"
    expect_error "a tokenizer as the model" -m "$tok" -z "$tok"
    if [ -f "$shared/models/tokenizer.bin" ]; then
        expect_error "tokenizer of another vocab size" -m "$model" -z "$shared/models/tokenizer.bin"
    fi
    expect_error "prompt longer than the context" -m "$model" -z "$tok" -p "Once upon a time" --context 4
    expect_error "context above the model's" -m "$model" -z "$tok" --context 100000

    # attention variants: dense (and a window as long as the context) compute flash's function, so they
    # tell llama2.c's greedy story too; sparse layers and the int8 cache run; bad specs are one-line errors
    for attn in dense window:512; do
        run -m "$model" -z "$tok" -p "Once upon a time" -n 196 --temp 0 --threads 2 --attn $attn
        if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$golden"; then ok
        else bad "greedy story with --attn $attn (exit $rc) differs from llama2.c's"; fi
    done
    for args in "--attn window:32 --kv-type i8" "--attn bigbird:16,1,2,1" "--kv-type i8"; do
        run -m "$model" -z "$tok" -p "Once upon a time" -n 100 --temp 0 $args
        if [ $rc -eq 0 ] && [ -s "$out/cli_stdout" ] && tail -n 1 "$out/cli_stderr" | grep -q "decode: 100 tok"; then ok
        else bad "$args: exit $rc, stderr: $(head -c 300 "$out/cli_stderr")"; fi
    done
    for spec in "" sparse window window: window:0 window:-4 window:8x bigbird:4,1,2 bigbird:0,1,2,1 bigbird:4,1,2,1,2,3 \
                linear linformer:16; do
        expect_error "--attn '$spec'" -m "$model" -z "$tok" -n 5 --attn "$spec"
    done

    run --help
    if [ $rc -eq 0 ] && grep -q "usage" "$out/cli_stdout" && [ ! -s "$out/cli_stderr" ]; then ok; else bad "--help exit $rc"; fi
    run --version
    if [ $rc -eq 0 ] && grep -qE "^tfm-generate [0-9]+\.[0-9]+\.[0-9]+ " "$out/cli_stdout"; then ok; else bad "--version exit $rc"; fi

    # --stop: the text ends before the first stop string (llama2.c's story has "named Lily.")
    run -m "$model" -z "$tok" -p "Once upon a time" -n 196 --temp 0 --stop "Lily." --stop "zebra"
    if [ $rc -eq 0 ] && [ "$(cat "$out/cli_stdout")" = "Once upon a time, there was a little girl named " ]; then ok
    else bad "--stop: exit $rc, stdout '$(head -c 100 "$out/cli_stdout")'"; fi
    expect_error "--stop ''" -m "$model" -z "$tok" --stop ""

    # --prompt-cache: the first run saves the prompt's state, the second prefills nothing and tells the
    # same story; a longer prompt reuses the cached start; a damaged cache is said so and rebuilt
    cache=$out/prompt.cache
    rm -f "$cache"
    run -m "$model" -z "$tok" -p "Once upon a time" -n 40 --temp 0 --prompt-cache "$cache"
    cp "$out/cli_stdout" "$out/cache_cold.txt"
    if [ $rc -eq 0 ] && [ -s "$cache" ] && ! grep -q reused "$out/cli_stderr" &&
       [[ "$(tail -n 1 "$out/cli_stderr")" =~ ^prefill:\ 5\ tok ]]; then ok
    else bad "--prompt-cache, first run: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
    run -m "$model" -z "$tok" -p "Once upon a time" -n 40 --temp 0 --prompt-cache "$cache"
    if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$out/cache_cold.txt" && grep -q "reused 5 prompt tokens" "$out/cli_stderr" &&
       [[ "$(tail -n 1 "$out/cli_stderr")" =~ ^prefill:\ 0\ tok ]]; then ok
    else bad "--prompt-cache, second run: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
    run -m "$model" -z "$tok" -p "Once upon a time, there was" -n 10 --temp 0 --prompt-cache "$cache"
    if [ $rc -eq 0 ] && grep -q "reused 5 prompt tokens" "$out/cli_stderr"; then ok
    else bad "--prompt-cache, a longer prompt: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
    head -c 100 "$cache" >"$cache.cut" && mv "$cache.cut" "$cache"
    run -m "$model" -z "$tok" -p "Once upon a time" -n 40 --temp 0 --prompt-cache "$cache"
    if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$out/cache_cold.txt" && grep -q "prompt cache not used" "$out/cli_stderr" &&
       [ "$(wc -c <"$cache")" -gt 100 ]; then ok
    else bad "--prompt-cache, a damaged cache: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
    # the model itself as the prompt cache: read as a cache it is not one, and it is never written over
    cp "$model" "$out/model-as-cache.bin"
    run -m "$out/model-as-cache.bin" -z "$tok" -p "Once upon a time" -n 40 --temp 0 --prompt-cache "$out/model-as-cache.bin"
    if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$out/cache_cold.txt" && cmp -s "$model" "$out/model-as-cache.bin" &&
       grep -q "prompt cache not saved.*being read" "$out/cli_stderr"; then ok
    else bad "--prompt-cache onto the model: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
    rm -f "$out/model-as-cache.bin"

    # a reader that goes away: an error exit, not death by SIGPIPE
    "$gen" -m "$model" -z "$tok" -n 400 --temp 0 --threads 1 2>"$out/cli_stderr" | head -c 10 >/dev/null
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ]; then ok; else bad "closed stdout: exit $rc"; fi
else
    echo "  SKIP cli: stories260K.bin, tok512.bin or the golden text is missing" >&2
    skip=$((skip + 1))
fi

section gguf
# ---------------------------------------------------------------- GGUF models (the vocab inside)
gguf=$shared/models/stories260K.gguf
if [ -f "$gguf" ] && [ -f "$golden" ] && [ -f "$tok" ]; then
    # one line on stderr, nothing on stdout, an exit status that is not a signal's
    expect_error_gguf() {
        local what=$1
        shift
        run "$@"
        if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ]; then ok
        else bad "$what: exit $rc, stdout $(wc -c <"$out/cli_stdout") bytes, stderr: $(head -c 300 "$out/cli_stderr")"; fi
    }
    run -m "$gguf" -p "Once upon a time" -n 196 --temp 0 --threads 2
    if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$golden"; then ok
    else bad "GGUF greedy story without -z (exit $rc) differs from llama2.c's"; fi
    run -m "$gguf" -z "$tok" -p "Once upon a time" -n 196 --temp 0 --threads 1
    if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$golden"; then ok
    else bad "GGUF greedy story with -z (exit $rc) differs from llama2.c's"; fi

    # corrupt files: cut short, another architecture or tokenizer spelled into the bytes, only a header
    head -c 600000 "$gguf" >"$out/cut.gguf"
    expect_error_gguf "GGUF cut short" -m "$out/cut.gguf" -n 5
    for key in general.architecture tokenizer.ggml.model; do
        cp "$gguf" "$out/patched.gguf"
        at=$(grep -obUa "$key" "$gguf" | head -n 1 | cut -d: -f1)
        # the value follows the key (its length), its type (4 bytes) and its length (8): "llama" -> "xlama"
        printf 'x' | dd of="$out/patched.gguf" bs=1 seek=$((at + ${#key} + 12)) conv=notrunc status=none
        expect_error_gguf "GGUF with another $key" -m "$out/patched.gguf" -n 5
        if grep -q "xlama" "$out/cli_stderr"; then ok; else bad "the reason does not name 'xlama': $(cat "$out/cli_stderr")"; fi
    done
    head -c 24 "$gguf" >"$out/header.gguf"
    expect_error_gguf "GGUF header only" -m "$out/header.gguf"
    printf 'GGUF' >"$out/magic.gguf"
    expect_error_gguf "GGUF magic only" -m "$out/magic.gguf"
    expect_error_gguf "a .bin model without -z" -m "$model"
    # files that are no model: said so, with the name as given (its control bytes escaped)
    head -c 2000 "$shared/golden/tinystories.valid.first500.txt" >"$out/story.txt"
    expect_error_gguf "a text file as the model" -m "$out/story.txt" -z "$tok"
    if grep -q "story.txt: not a model file" "$out/cli_stderr"; then ok; else bad "text file: $(cat "$out/cli_stderr")"; fi
    odd="$out/cut"$'\e]0;title\a'".gguf"
    cp "$out/cut.gguf" "$odd"
    expect_error_gguf "a cut GGUF named with control bytes" -m "$odd"
    if grep -qF 'cut\x1b]0;title\x07.gguf: ' "$out/cli_stderr" && ! grep -q $'\e' "$out/cli_stderr" &&
       ! grep -q "<memory>" "$out/cli_stderr"; then ok; else bad "escaped name: $(cat -v "$out/cli_stderr")"; fi
    rm -f "$odd"
    # NaN weights: layer 2's wq in the llama2.c file (28-byte header, 512x64 embedding, 5 layers' attn_norm)
    cp "$model" "$out/nan.bin"
    printf '\x00\x00\xc0\x7f' | dd of="$out/nan.bin" bs=1 seek=$((28 + 4 * (512 * 64 + 5 * 64 + 2 * 64 * 64 + 7))) conv=notrunc status=none
    expect_error_gguf "NaN weights: generate" -m "$out/nan.bin" -z "$tok" -n 5 --temp 0
    if grep -q "is NaN" "$out/cli_stderr"; then ok; else bad "NaN generate: $(cat "$out/cli_stderr")"; fi

    section perplexity
    # ---------------------------------------------------------------- tfm-perplexity
    ppl=$out/tfm-perplexity
    text=$shared/golden/tinystories.valid.first500.txt
    if build_tool perplexity "$ppl"; then
        "$ppl" -m "$gguf" -f "$text" --ctx 64 --chunks 5 --threads 2 >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        last=$(tail -n 1 "$out/cli_stdout")
        if [ $rc -eq 0 ] && [[ "$last" =~ PPL\ =\ [0-9]+\.[0-9]+\ \+/-\ [0-9]+\.[0-9]+$ ]]; then ok
        else bad "tfm-perplexity: exit $rc, last line '$last'"; fi
        if grep -q "chunk 5/5" "$out/cli_stderr"; then ok; else bad "tfm-perplexity: no progress on stderr"; fi
        # stderr is no terminal here: plain progress lines, no carriage returns
        if ! grep -q $'\r' "$out/cli_stderr"; then ok; else bad "tfm-perplexity: carriage returns in a log"; fi
        "$ppl" -m "$gguf" -f "$text" -c 64 --chunks 5 -t 2 >"$out/cli_stdout.2" 2>/dev/null
        if [ $? -eq 0 ] && [ "$(tail -n 1 "$out/cli_stdout.2")" = "$last" ]; then ok; else bad "tfm-perplexity -c 64 -t 2 differs from --ctx 64 --threads 2"; fi
        for args in "--bogus|unknown option '--bogus'" "-m $gguf -f $text -c|-c needs a value" "-m $gguf -f $text --chunks 0|--chunks wants an integer in 1.." \
                    "-m $gguf -f $text --kv-type q4|--kv-type wants one of f32 i8, got 'q4'" "-m $gguf|give a model and a text" "-m $gguf -f $text x|unexpected argument 'x'"; do
            "$ppl" ${args%%|*} >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 2 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] && grep -qF -- "${args#*|}" "$out/cli_stderr"; then ok
            else bad "tfm-perplexity ${args%%|*}: exit $rc (want 2), stderr (want '${args#*|}'): $(head -c 300 "$out/cli_stderr")"; fi
        done
        "$ppl" -m "$gguf" -f "$text" --ctx 64 --chunks 3 --attn window:16 --kv-type i8 >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        last=$(tail -n 1 "$out/cli_stdout")
        if [ $rc -eq 0 ] && [[ "$last" =~ PPL\ =\ [0-9]+\.[0-9]+\ \+/-\ [0-9]+\.[0-9]+$ ]]; then ok
        else bad "tfm-perplexity --attn window:16 --kv-type i8: exit $rc, last line '$last'"; fi
        "$ppl" -m "$out/nan.bin" -z "$tok" -f "$text" -c 64 --chunks 2 >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 1 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] &&
           grep -q "not finite.*--check-finite" "$out/cli_stderr"; then ok
        else bad "tfm-perplexity of NaN weights: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        "$ppl" -m "$out/nan.bin" -z "$tok" -f "$text" -c 64 --chunks 2 --check-finite >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 1 ] && grep -q "layer 2's attention block made the first non-finite value (NaN)" "$out/cli_stderr"; then ok
        else bad "tfm-perplexity --check-finite: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        printf 'Once upon a time' >"$out/short.txt"
        for args in "-m $gguf -f $out/short.txt --ctx 64" "-m $gguf -f $out/no_such.txt" \
                    "-m $out/cut.gguf -f $text" "-m $gguf -f $text --ctx 2" "-m $model -f $text" \
                    "-m $gguf -f $text --attn window:0" "-m $gguf -f $text --attn linear" "-m $gguf -f /dev/zero"; do
            "$ppl" $args >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ]; then ok
            else bad "tfm-perplexity $args: exit $rc, stderr: $(head -c 300 "$out/cli_stderr")"; fi
        done
    else
        head -n 20 "$out/cli_build.log" >&2
        bad "examples/perplexity.c does not build"
    fi

    section synth
    # ---------------------------------------------------------------- tfm-synth: the same weights in both formats
    synth=$out/tfm-synth
    if build_tool synth "$synth"; then
        dims="--dim 64 --hidden 96 --layers 2 --heads 4 --kv-heads 2 --vocab 512 --seq-len 64 --seed 5"
        if "$synth" $dims -o "$out/synth.bin" 2>/dev/null &&
           "$synth" $dims --format gguf -z "$tok" -o "$out/synth.gguf" 2>/dev/null; then ok
        else bad "tfm-synth failed"; fi
        run -m "$out/synth.bin" -z "$tok" -p "Once upon a time" -n 20 --temp 0
        cp "$out/cli_stdout" "$out/synth_bin.txt"
        run -m "$out/synth.gguf" -p "Once upon a time" -n 20 --temp 0
        if [ $rc -eq 0 ] && [ -s "$out/synth_bin.txt" ] && cmp -s "$out/cli_stdout" "$out/synth_bin.txt"; then ok
        else bad "the GGUF and .bin files of one seed generate different text"; fi
        for type in q8_0 q4_k; do
            "$synth" --dim 256 --hidden 512 --layers 1 --heads 4 --vocab 300 --seq-len 32 --format gguf --type $type \
                -o "$out/synth-$type.gguf" 2>/dev/null
            run -m "$out/synth-$type.gguf" -p "ab" -n 8 --temp 0
            if [ $rc -eq 0 ]; then ok; else bad "synthetic $type model: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        done
        "$synth" $dims --type q4_0 -o "$out/synth-bad.bin" >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ]; then ok
        else bad "tfm-synth --type without --format gguf: exit $rc"; fi
        # upper-case names; usage errors name the argument
        if "$synth" $dims --format GGUF --type Q8_0 -o "$out/synth-upper.gguf" 2>/dev/null &&
           "$synth" $dims --format gguf --type q8_0 -o "$out/synth-lower.gguf" 2>/dev/null &&
           cmp -s "$out/synth-upper.gguf" "$out/synth-lower.gguf"; then ok; else bad "tfm-synth --format GGUF --type Q8_0"; fi
        for args in "--shape nope -o $out/x|--shape wants one of" "$dims --seed x -o $out/x|--seed wants a non-negative integer" \
                    "$dims|no output file" "$dims -o|-o needs a value" "$dims -o $out/x extra|unexpected argument 'extra'"; do
            "$synth" ${args%%|*} >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 2 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] && grep -qF -- "${args#*|}" "$out/cli_stderr" &&
               [ ! -e "$out/x" ]; then ok
            else bad "tfm-synth ${args%%|*}: exit $rc (want 2), stderr (want '${args#*|}'): $(head -c 300 "$out/cli_stderr")"; fi
        done

        # a mixture of experts in Mixtral's layout: tfm-generate and tfm-perplexity run it; --moe-stats
        # prints the routing on stderr (stdout keeps the text, the timing stays stderr's last line)
        moe="$dims --experts 4 --experts-used 2 --format gguf --type q8_0"
        if "$synth" $moe -z "$tok" -o "$out/synth-moe.gguf" 2>/dev/null; then ok; else bad "tfm-synth --experts failed"; fi
        run -m "$out/synth-moe.gguf" -p "Once upon a time" -n 12 --temp 0 --threads 1
        cp "$out/cli_stdout" "$out/synth_moe.txt"
        run -m "$out/synth-moe.gguf" -p "Once upon a time" -n 12 --temp 0 --threads 2 --moe-stats
        last=$(tail -n 1 "$out/cli_stderr")
        if [ $rc -eq 0 ] && [ -s "$out/cli_stdout" ] && cmp -s "$out/cli_stdout" "$out/synth_moe.txt"; then ok
        else bad "MoE generate: exit $rc, or 1 and 2 threads / --moe-stats change the text"; fi
        if grep -qE '^blk\.1: [0-9]+ tokens, [0-9]+ assignments, 0 dropped' "$out/cli_stderr" &&
           grep -qE '^total: +3 +[0-9]+ +[0-9.]+% +[0-9.]+ +0$' "$out/cli_stderr" && grep -q 'aux loss' "$out/cli_stderr" &&
           [[ "$last" =~ ^prefill:\ 5\ tok ]]; then ok
        else bad "tfm-generate --moe-stats: stderr $(head -c 400 "$out/cli_stderr")"; fi
        "$out/tfm-perplexity" -m "$out/synth-moe.gguf" -f "$shared/golden/tinystories.valid.first500.txt" --ctx 32 \
            --chunks 3 --moe-stats >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 0 ] && grep -q "PPL = " "$out/cli_stdout" &&
           grep -q '^total: 186 tokens, 372 assignments' "$out/cli_stderr"; then ok
        else bad "tfm-perplexity --moe-stats: exit $rc, stderr $(tail -c 400 "$out/cli_stderr")"; fi

        # every family: tfm-synth --arch writes a file tfm-generate runs, the same text with 1 and 2 threads
        # (gemma3: 6 layers, one of them global); an unknown family and --experts on a dense one are one line
        for arch in llama qwen2 qwen3 qwen3moe gemma2 gemma3 phi3 gpt2; do
            extra=""
            [ $arch = qwen3moe ] && extra="--experts 4"
            [ $arch = gemma2 ] || [ $arch = gemma3 ] || [ $arch = phi3 ] && extra="--window 5"
            if "$synth" --arch $arch --dim 64 --hidden 96 --layers 6 --heads 4 --kv-heads 2 --vocab 300 --seq-len 64 $extra \
                   --format gguf --type q8_0 -o "$out/synth-$arch.gguf" 2>/dev/null; then ok
            else bad "tfm-synth --arch $arch failed"; continue; fi
            run -m "$out/synth-$arch.gguf" -p "ab" -n 12 --temp 0 --threads 1
            cp "$out/cli_stdout" "$out/synth_arch.txt"
            run -m "$out/synth-$arch.gguf" -p "ab" -n 12 --temp 0 --threads 2
            if [ $rc -eq 0 ] && [ -s "$out/cli_stdout" ] && cmp -s "$out/cli_stdout" "$out/synth_arch.txt"; then ok
            else bad "a synthetic $arch model: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        done
        for args in "--arch mamba" "--arch qwen2 --experts 4" "--arch qwen3moe"; do
            "$synth" $args --dim 64 --hidden 96 --layers 2 --heads 4 --vocab 300 --seq-len 64 --format gguf \
                -o "$out/synth-bad.gguf" >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] && [ ! -e "$out/synth-bad.gguf" ]; then ok
            else bad "tfm-synth $args: exit $rc, stderr $(head -c 300 "$out/cli_stderr")"; fi
        done
    else
        head -n 20 "$out/cli_build.log" >&2
        bad "examples/synth.c does not build"
    fi

    section quantize
    # ---------------------------------------------------------------- tfm-quantize
    # every preset from the llama2.c file (vocab from -z) makes a GGUF that tfm-generate runs without -z:
    # f16 tells llama2.c's greedy story; the others its first 60 bytes (measured: they part from it after
    # 73-296 bytes, bf16 after 430)
    quant=$out/tfm-quantize
    presets="q4_0 q4_1 q5_0 q5_1 q8_0 iq4_nl iq4_xs q2_k q3_k_s q3_k_m q3_k_l q4_k_s q4_k_m q5_k_s q5_k_m q6_k f16 bf16"
    if build_tool quantize "$quant"; then
        for type in $presets; do
            rm -f "$out/quant-$type.gguf"
            "$quant" "$model" "$out/quant-$type.gguf" $type -z "$tok" >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 0 ] && grep -q "wrote" "$out/cli_stderr"; then ok; else bad "tfm-quantize $type: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
            # (the others' first 60 bytes take far fewer than 196 tokens: 60 tokens made 277 bytes)
            tokens=196
            [ $type = f16 ] || tokens=60
            run -m "$out/quant-$type.gguf" -p "Once upon a time" -n $tokens --temp 0
            if [ $type = f16 ]; then
                if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$golden"; then ok
                else bad "the tfm-quantize f16 model's greedy story (exit $rc) differs from llama2.c's"; fi
            elif [ $rc -eq 0 ] && cmp -s -n 60 "$out/cli_stdout" "$golden"; then ok
            else bad "the tfm-quantize $type model (exit $rc) does not start llama2.c's greedy story"; fi
            rm -f "$out/quant-$type.gguf"
        done
        # llama-quantize's files byte for byte: the first 16 hex digits of the sha256 of llama-quantize's
        # output (llama.cpp b4747: `llama-quantize IN OUT PRESET 2`) for each preset, on stories260K.gguf
        # (every matrix falls back: rows of 64 and 172) and on two tfm-synth files (same bytes on every
        # run) whose rows fit the k-quants: D, 8 layers of GQA 4 with a classifier of its own, and E, 8
        # experts a layer (llama.cpp's 8-expert rules)
        synth_d="--dim 256 --hidden 512 --layers 8 --heads 8 --kv-heads 2 --vocab 512 --seq-len 128 --own-classifier"
        synth_e="--dim 256 --hidden 256 --layers 2 --heads 8 --kv-heads 2 --vocab 512 --seq-len 128 --experts 8 --experts-used 2"
        "$synth" $synth_d --format gguf --type f16 -z "$tok" -o "$out/synth-d.gguf" 2>/dev/null
        "$synth" $synth_e --format gguf --type f16 -z "$tok" -o "$out/synth-e.gguf" 2>/dev/null
        # with TFM_TEST_QUICK (the sanitizer build at -O0, where these quantizations were most of the run): one
        # preset per quantizer on D (the _M and _L mixes use the quantizers of the others: the choice of types is
        # checked natively), one on E (its expert tensors)
        quick_skip=" synth-d.gguf:Q3_K_M synth-d.gguf:Q3_K_L synth-d.gguf:Q4_K_M synth-d.gguf:Q5_K_M synth-e.gguf:Q2_K synth-e.gguf:Q3_K_M synth-e.gguf:IQ4_XS synth-e.gguf:Q5_K_M "
        while read -r file preset want; do
            if [ -n "${TFM_TEST_QUICK:-}" ] && [ "${TFM_TEST_QUICK}" != 0 ] && [[ "$quick_skip" == *" $(basename "$file"):$preset "* ]]; then
                continue
            fi
            "$quant" "$file" "$out/q.gguf" $preset --threads 2 >/dev/null 2>"$out/cli_stderr"
            got=$(sha256sum "$out/q.gguf" 2>/dev/null | cut -c1-16)
            if [ "$got" = "$want" ]; then ok; else bad "tfm-quantize $(basename "$file") $preset: sha256 $got, llama-quantize's $want"; fi
            rm -f "$out/q.gguf"
        done <<EOT
$out/synth-d.gguf Q4_0 59bc029408022ade
$out/synth-d.gguf Q4_1 61c8590b6acce000
$out/synth-d.gguf Q5_0 a646e9b3a3c85e03
$out/synth-d.gguf Q5_1 285599bac9190a3e
$out/synth-d.gguf Q8_0 2291bb852434e689
$out/synth-d.gguf IQ4_NL 04f07536e46cb3e5
$out/synth-d.gguf IQ4_XS f74fb19ebb1ac3eb
$out/synth-d.gguf Q2_K 58f6b7b75570e5af
$out/synth-d.gguf Q3_K_S b73a29574c51c02b
$out/synth-d.gguf Q3_K_M 6d6bd7bef47dcdd4
$out/synth-d.gguf Q3_K_L 5e03f46f573ddb61
$out/synth-d.gguf Q4_K_S 6f6b6c460300e62c
$out/synth-d.gguf Q4_K_M 501f72c280ac70e6
$out/synth-d.gguf Q5_K_S 1a1176e2e9267728
$out/synth-d.gguf Q5_K_M 5b5b11aa9175839e
$out/synth-d.gguf Q6_K ab06fc16753a0044
$out/synth-d.gguf F16 2cb8234ebe2fcfc6
$out/synth-d.gguf BF16 78bd7216c2f50ee8
$out/synth-e.gguf Q2_K 177c774d96aec347
$out/synth-e.gguf Q3_K_M 5734c734dca8e8ff
$out/synth-e.gguf Q4_K_M fe38c7dd6c4492e4
$out/synth-e.gguf IQ4_XS a877a5346a2ef2fd
$out/synth-e.gguf Q5_K_M 42a81a6fd94c32ff
$gguf IQ4_XS 4d8614ce3f2eb632
$gguf Q2_K cde7e9520495a6f8
$gguf Q3_K_S 69ee8bab5840a316
$gguf Q3_K_M f3814735f0878100
$gguf Q3_K_L f0d86cfc324b819c
$gguf Q4_K_S ec7a769903d8b4cb
$gguf Q4_K_M 7f61512f1889080c
$gguf Q5_K_S 66ed769a4df768d6
$gguf Q5_K_M 017253a152346d29
$gguf Q6_K 137d1fbe834a43bc
$gguf F16 4cd29bbe9cb3b735
$gguf BF16 633551c4cd934c20
EOT
        # tfm's perplexity on each preset's file is llama.cpp's within 0.1%: synth-d's shape in f32 (the
        # tfm-synth weights, uniform +-0.05: the same file on every run), quantized by tfm-quantize (llama-quantize's
        # bytes, checked above), 16 chunks of 128 of the golden text (llama's protocol, f32 KV cache).
        # References, llama.cpp b4747 (/work/peers/llama.cpp/build/bin) on llama-quantize's own files:
        #   tfm-synth --dim 256 --hidden 512 --layers 8 --heads 8 --kv-heads 2 --vocab 512 --seq-len 128 \
        #       --own-classifier --format gguf --type f32 -z ../shared/models/tok512.bin -o D.gguf
        #   llama-quantize D.gguf D-PRESET.gguf PRESET 2
        #   LD_PRELOAD=noamx.so llama-perplexity -m D-PRESET.gguf -f tinystories.valid.first500.txt -c 128 -b 128 \
        #       -ctk f32 -ctv f32 -t 2 --chunks 16   (the `Final estimate`; 4 chunks: the running value [4])
        # noamx.so refuses the AMX tile permission (syscall arch_prctl ARCH_REQ_XCOMP_PERM -> EPERM), so ggml runs
        # its plain CPU kernels: this machine's build otherwise computes Q4_0 and Q4_1 batches with its AMX
        # kernels, 4.6% and 9.3% off on this file (the AMX bug llama.cpp fixed in 2026, PRs 16315 and 19925;
        # see the README's Quantizing section). On this model float summation order alone moves a preset's
        # perplexity by up to ~0.13% over 4 chunks (tfm's scalar vs AVX-512 kernels, or llama.cpp's two paths),
        # ~0.035% over 16, hence 16 chunks. TFM_TEST_QUICK (clangsan): Q2_K and Q8_0 over 4 chunks.
        section quantize_perplexity
        ppl_chunks=16 ppl_presets="all"
        [ -n "${TFM_TEST_QUICK:-}" ] && [ "$TFM_TEST_QUICK" != 0 ] && ppl_chunks=4 ppl_presets="Q2_K Q8_0"
        if [ -x "$ppl" ]; then
            "$synth" $synth_d --format gguf --type f32 -z "$tok" -o "$out/synth-d32.gguf" 2>/dev/null
            head -c 20000 "$text" >"$out/text20k.txt" # 16 chunks need 2048 tokens: the same ones, tokenized faster
            while read -r preset want16 want4; do
                [ "$ppl_presets" = all ] || case " $ppl_presets " in *" $preset "*) ;; *) continue ;; esac
                want=$want16; [ $ppl_chunks = 4 ] && want=$want4
                "$quant" "$out/synth-d32.gguf" "$out/q.gguf" $preset --threads 2 >/dev/null 2>"$out/cli_stderr"
                got=$("$ppl" -m "$out/q.gguf" -f "$out/text20k.txt" -c 128 --chunks $ppl_chunks -t 2 2>/dev/null | sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p')
                if awk -v g="$got" -v w="$want" 'BEGIN { d = (g - w) / w; exit !(g != "" && d < 0.001 && d > -0.001) }'; then ok
                else bad "tfm-perplexity on synth-d $preset: PPL ${got:-none}, llama.cpp's $want (over 0.1% apart)"; fi
                rm -f "$out/q.gguf"
            done <<EOT
Q4_0 559.2767 574.4393
Q4_1 560.3273 565.3885
Q5_0 564.0981 579.0865
Q5_1 558.6030 568.8949
Q8_0 560.5804 569.7557
IQ4_NL 560.2027 574.3161
IQ4_XS 559.4986 572.9347
Q2_K 551.7105 557.7959
Q3_K_S 557.1676 567.4755
Q3_K_M 558.2565 564.9838
Q3_K_L 560.1991 569.9010
Q4_K_S 560.0856 568.3635
Q4_K_M 558.9600 566.5114
Q5_K_S 558.0626 568.7341
Q5_K_M 558.3436 569.7437
Q6_K 560.7987 570.9567
F16 560.3384 569.7057
BF16 560.3033 569.8963
EOT
        # the same for a mixture of experts: synth-e's shape (8 experts a layer, 2 per token: llama.cpp's
        # 8-expert rules pick attn_k, attn_v, attn_output and ffn_down_exps' types) in f32, each preset made once
        # by tfm-quantize, byte for byte llama-quantize's (the first 16 hex digits of the sha256 of its file), and
        # tfm-perplexity on it llama.cpp's within 0.1% over 32 chunks of 128. References, llama.cpp b4747:
        #   tfm-synth --dim 256 --hidden 256 --layers 2 --heads 8 --kv-heads 2 --vocab 512 --seq-len 128 \
        #       --experts 8 --experts-used 2 --format gguf --type f32 -z ../shared/models/tok512.bin -o E.gguf
        #   llama-quantize E.gguf E-PRESET.gguf PRESET 2; sha256sum E-PRESET.gguf
        #   LD_PRELOAD=noamx.so llama-perplexity -m E-PRESET.gguf -f tinystories.valid.first500.txt -c 128 -b 128 \
        #       -ctk f32 -ctv f32 -t 2 --chunks 32   (the `Final estimate`; 4 chunks: the running value [4])
        # Two builds that sum in another order agree to float rounding until one int8 activation rounds the other
        # way; from there on every later token differs by the activations' quantization noise (~1e-2 in the
        # logits, where f32 weights stay within 1e-6 over 128 tokens), and a router picking other experts adds
        # its own steps. Measured with tfm's AVX-512, AVX2 and scalar kernels against these references, every
        # preset: up to 0.093% apart over 16 chunks (the dense shape above: 0.04%), 0.068% over 32 (0.043% over
        # 64, for 2.3 s more CPU), hence 32. TFM_TEST_QUICK (clangsan, where quantizing it takes 3 s): Q4_K_M
        # alone (q4_k, q5_k, q6_k and q8_0 matrices) over 4 chunks, 0.057% or less from llama.cpp's [4] with
        # tfm's scalar, AVX2, AVX-512 and clangsan builds.
        section quantize_perplexity_moe
        moe_chunks=32 moe_presets="all"
        [ -n "${TFM_TEST_QUICK:-}" ] && [ "$TFM_TEST_QUICK" != 0 ] && moe_chunks=4 moe_presets="Q4_K_M"
        "$synth" $synth_e --format gguf --type f32 -z "$tok" -o "$out/synth-e32.gguf" 2>/dev/null
        while read -r preset sha want32 want4; do
            [ "$moe_presets" = all ] || case " $moe_presets " in *" $preset "*) ;; *) continue ;; esac
            want=$want32; [ $moe_chunks = 4 ] && want=$want4
            "$quant" "$out/synth-e32.gguf" "$out/q.gguf" $preset --threads 2 >/dev/null 2>"$out/cli_stderr"
            got=$(sha256sum "$out/q.gguf" 2>/dev/null | cut -c1-16)
            if [ "$got" = "$sha" ]; then ok; else bad "tfm-quantize synth-e (f32) $preset: sha256 $got, llama-quantize's $sha"; fi
            got=$("$ppl" -m "$out/q.gguf" -f "$out/text20k.txt" -c 128 --chunks $moe_chunks -t 2 2>/dev/null | sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p')
            if awk -v g="$got" -v w="$want" 'BEGIN { d = (g - w) / w; exit !(g != "" && d < 0.001 && d > -0.001) }'; then ok
            else bad "tfm-perplexity on MoE synth-e $preset: PPL ${got:-none}, llama.cpp's $want (over 0.1% apart)"; fi
            rm -f "$out/q.gguf"
        done <<EOT
Q4_0 6ccba37de51bd1b5 539.1652 560.3629
Q4_1 dc69d2c4014fb0d9 539.9560 568.0010
Q5_0 783522307b5a3d33 542.7048 570.3296
Q5_1 f7a42659b5ff1348 541.5367 568.0978
Q8_0 990769cccda11259 541.7187 567.5677
IQ4_NL 411d9f7fe22b7520 542.0058 572.8922
IQ4_XS fd24a96ce155ae4c 542.0613 571.3925
Q2_K a50ede53188ab3d6 542.0518 571.8452
Q3_K_S ecb8229f6be4d000 541.6264 564.0608
Q3_K_M 38e17528bbdef131 541.3779 566.4348
Q3_K_L 6b7919493b08dd5f 539.9474 558.1552
Q4_K_S 0aeece8d6b140607 542.4270 569.7738
Q4_K_M 85c2e24f26423320 542.3303 569.6562
Q5_K_S 34a82af0ee45e591 541.4398 569.2864
Q5_K_M b333529bf2e3bcc1 541.4166 569.2295
Q6_K 58f2c9d0a3449819 541.4544 570.0621
F16 804ca86f5a92c639 541.4933 567.9312
BF16 a152d4e81029332d 541.3744 567.0359
EOT
        rm -f "$out/synth-e32.gguf"
        section quantize
            rm -f "$out/synth-d32.gguf" "$out/text20k.txt"
        fi
        # where llama-quantize stops (stories260K's ffn_down rows of 172 fit no q4_0 block) tfm keeps f16
        # and says so; rows of 64 fall back from q4_k to q5_0
        "$quant" "$gguf" "$out/quant-gguf.gguf" Q4_0 >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 0 ] && grep -q "blk.0.ffn_down.weight: rows of 172 .*: f16 (llama-quantize stops here)" "$out/cli_stderr"; then ok
        else bad "tfm-quantize Q4_0 fallbacks: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        "$quant" "$gguf" "$out/quant-gguf.gguf" q4_k_m >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 0 ] && grep -q "blk.0.attn_q.weight: rows of 64 .*: q5_0$" "$out/cli_stderr" &&
           grep -q "blk.0.ffn_down.weight: rows of 172 .*: f16$" "$out/cli_stderr"; then ok
        else bad "tfm-quantize q4_k_m fallbacks: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        run -m "$out/quant-gguf.gguf" -p "Once upon a time" -n 20 --temp 0
        if [ $rc -eq 0 ] && [ -s "$out/cli_stdout" ]; then ok; else bad "a GGUF requantized to q4_k_m: exit $rc"; fi
        # over its own input, by another path: refused before any work, the input byte for byte as it was
        cp "$gguf" "$out/same.gguf"
        ln -sf same.gguf "$out/same-link.gguf"
        for dst in "$out/./same.gguf" "$out/same-link.gguf"; do
            "$quant" "$out/same.gguf" "$dst" q8_0 >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 1 ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] && grep -q "is an input" "$out/cli_stderr" &&
               cmp -s "$out/same.gguf" "$gguf"; then ok
            else bad "tfm-quantize onto its input as $dst: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        done
        "$quant" "$model" "$out/tok-copy.bin" q8_0 -z "$out/tok-copy.bin" >/dev/null 2>&1
        cp "$tok" "$out/tok-copy.bin"
        "$quant" "$model" "$out/tok-copy.bin" q8_0 -z "$out/tok-copy.bin" >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 1 ] && grep -q "is an input" "$out/cli_stderr" && cmp -s "$out/tok-copy.bin" "$tok"; then ok
        else bad "tfm-quantize onto its tokenizer: exit $rc, $(head -c 300 "$out/cli_stderr")"; fi
        # NaN weights are not converted: one line naming the tensor and row, no output file
        rm -f "$out/q.gguf"
        "$quant" "$out/nan.bin" "$out/q.gguf" q8_0 -z "$tok" >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 1 ] && grep -q "tensor blk.2.attn_q.weight: row 0 holds NaN at column 7" "$out/cli_stderr" &&
           [ ! -e "$out/q.gguf" ] && ! ls "$out"/q.gguf.tmp* >/dev/null 2>&1; then ok
        else bad "tfm-quantize of NaN weights: exit $rc, $(tail -c 300 "$out/cli_stderr")"; fi
        # PRESET in upper case (llama-quantize's spelling), and its alias, make the same file
        "$quant" "$gguf" "$out/quant-upper.gguf" Q4_K >/dev/null 2>&1
        if [ $? -eq 0 ] && cmp -s "$out/quant-upper.gguf" "$out/quant-gguf.gguf"; then ok; else bad "tfm-quantize Q4_K differs from q4_k_m"; fi
        for args in "|want IN OUT PRESET" "$gguf $out/q.gguf q7_0|PRESET wants one of Q4_0 Q4_1 Q5_0" \
                    "$gguf $out/q.gguf q8_0 --bogus|unknown option '--bogus'" "$gguf $out/q.gguf q8_0 -t 0|-t wants an integer" \
                    "$gguf $out/q.gguf q8_0 extra|unexpected argument 'extra'" "$gguf $out/q.gguf q8_0 -z|-z needs a value"; do
            rm -f "$out/q.gguf"
            "$quant" ${args%%|*} >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 2 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] && grep -qF -- "${args#*|}" "$out/cli_stderr" &&
               [ ! -e "$out/q.gguf" ]; then ok
            else bad "tfm-quantize ${args%%|*}: exit $rc (want 2), stderr (want '${args#*|}'): $(head -c 300 "$out/cli_stderr")"; fi
        done
        for args in "" "$gguf" "$gguf $out/q.gguf" "$gguf $out/q.gguf q7_0" "$out/no_such.gguf $out/q.gguf q4_0" \
                    "$model $out/q.gguf q4_0" "$model $out/q.gguf q4_0 -z $out/no_such.bin" "$tok $out/q.gguf q4_0 -z $tok" \
                    "$out/cut.gguf $out/q.gguf q8_0" "$gguf $gguf q8_0" "$gguf $out/q.gguf q8_0 --bogus" \
                    "$gguf $out/q.gguf q8_0 --threads 0" "$gguf $out/q.gguf q8_0 -z"; do
            rm -f "$out/q.gguf"
            "$quant" $args >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] &&
               [ ! -e "$out/q.gguf" ]; then ok
            else bad "tfm-quantize $args: exit $rc, stderr: $(head -c 300 "$out/cli_stderr")"; fi
        done
    else
        head -n 20 "$out/cli_build.log" >&2
        bad "examples/quantize.c does not build"
    fi
else
    echo "  SKIP cli: stories260K.gguf, tok512.bin or the golden text is missing" >&2
    skip=$((skip + 1))
fi

section archs
# the other families: tfm-generate --temp 0 prints llama.cpp's greedy text (llama-cli, the command and the
# text in ../shared/archs/README.md) for the files whose SentencePiece vocab loads; 1 and 2 threads
for arch in gemma2 phi3; do
    file=$shared/archs/$arch-shared.gguf
    want=$(grep -A12 "^### \`$arch-shared.gguf\`" "$shared/archs/README.md" 2>/dev/null |
           sed -n 's/^- greedy text (JSON string): `"\(.*\)"`.*/\1/p' | sed 's/\\"/"/g; s/\\\\/\\/g')
    if [ ! -f "$file" ] || [ -z "$want" ]; then
        echo "  SKIP cli: $file or its greedy text is missing" >&2
        skip=$((skip + 1))
        continue
    fi
    for threads in 1 2; do
        run -m "$file" -p "Once upon a time" -n 32 --temp 0 --threads $threads
        if [ $rc -eq 0 ] && [ "$(cat "$out/cli_stdout")" = "Once upon a time$want" ]; then ok
        else bad "$arch greedy text with $threads thread(s) (exit $rc): $(head -c 200 "$out/cli_stdout")"; fi
    done
done

section tools
# ---------------------------------------------------------------- every tool: --help, --version, usage errors
for tool in generate chat perplexity synth quantize tokenize; do
    exe=$out/tfm-$tool
    [ -x "$exe" ] || build_tool $tool "$exe" || { bad "examples/$tool.c does not build"; continue; }
    "$exe" --help >"$out/cli_stdout" 2>"$out/cli_stderr"
    rc=$?
    if [ $rc -eq 0 ] && grep -q "^usage: tfm-$tool" "$out/cli_stdout" && [ ! -s "$out/cli_stderr" ]; then ok; else bad "tfm-$tool --help: exit $rc"; fi
    "$exe" --version >"$out/cli_stdout" 2>"$out/cli_stderr"
    rc=$?
    if [ $rc -eq 0 ] && grep -qE "^tfm-$tool [0-9]+\.[0-9]+\.[0-9]+ \(" "$out/cli_stdout"; then ok; else bad "tfm-$tool --version: exit $rc"; fi
    "$exe" --bogus >"$out/cli_stdout" 2>"$out/cli_stderr"
    rc=$?
    if [ $rc -eq 2 ] && [ "$(cat "$out/cli_stderr")" = "tfm-$tool: unknown option '--bogus' (see --help)" ]; then ok
    else bad "tfm-$tool --bogus: exit $rc, stderr $(head -c 300 "$out/cli_stderr")"; fi
done
# tfm-bench (make builds it; TFM_BENCH names it): its options' values are checked, model wants -m
bench=${TFM_BENCH:-build/tfm-bench}
if [ -x "$bench" ]; then
    for args in "|give a command" "nope|unknown command 'nope'" "gemm --m abc|--m wants an integer in 0..2147483647, got 'abc'" \
                "gemm --dtype q9|--dtype wants one of f32 f16 bf16, got 'q9'" "model|give a model: -m MODEL" \
                "gemm --seconds x|--seconds wants a number >= 0, got 'x'"; do
        "$bench" ${args%%|*} >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 2 ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] && grep -qF -- "${args#*|}" "$out/cli_stderr"; then ok
        else bad "tfm-bench ${args%%|*}: exit $rc (want 2), stderr (want '${args#*|}'): $(head -c 300 "$out/cli_stderr")"; fi
    done
    "$bench" --version >"$out/cli_stdout" 2>&1
    if [ $? -eq 0 ] && grep -qE "^tfm-bench [0-9]+\.[0-9]+\.[0-9]+ \(" "$out/cli_stdout"; then ok; else bad "tfm-bench --version"; fi
    "$bench" gemm --m 8 --n 8 --k 32 --dtype BF16 --threads 1 --seconds 0.01 --no-openblas >"$out/cli_stdout" 2>&1
    if [ $? -eq 0 ] && grep -q "bf16" "$out/cli_stdout"; then ok; else bad "tfm-bench gemm --dtype BF16: $(head -c 300 "$out/cli_stdout")"; fi
else
    echo "  SKIP cli: $bench is not built (make builds it)" >&2
    skip=$((skip + 1))
fi

section tokenize
# ---------------------------------------------------------------- tfm-tokenize
# The ids are llama.cpp b4747's: llama-tokenize -m VOCAB -p TEXT --ids --log-disable (--no-bos where the
# run below has it; --no-parse-special where the run below has no --parse-special).
tokenize=$out/tfm-tokenize
vocab=$shared/vocab
if [ -f "$vocab/ggml-vocab-llama3.gguf" ] && [ -f "$vocab/ggml-vocab-qwen3.gguf" ] && [ -f "$vocab/ggml-vocab-bert-bge.gguf" ]; then
    if build_tool tokenize "$tokenize"; then
        # ids on one line: BOS as the vocab says, special tokens parsed only when asked; -p and -f alike
        expect_ids() {
            local want=$1
            shift
            "$tokenize" "$@" --ids >"$out/cli_stdout" 2>"$out/cli_stderr"
            local rc=$?
            if [ $rc -eq 0 ] && [ "$(cat "$out/cli_stdout")" = "$want" ] && [ "$(wc -l <"$out/cli_stdout")" -eq 1 ]; then ok
            else bad "tfm-tokenize $* --ids: exit $rc, '$(head -c 200 "$out/cli_stdout")' (want '$want')"; fi
        }
        chat='<|im_start|>user<think>hi</think><|im_end|>'
        printf '%s' "$chat" >"$out/chat.txt"
        expect_ids "128000 9906 1917" -m "$vocab/ggml-vocab-llama3.gguf" -p "Hello world"
        expect_ids "9906 1917" -m "$vocab/ggml-vocab-llama3.gguf" -p "Hello world" --no-bos
        expect_ids "101 7592 2088 102" -m "$vocab/ggml-vocab-bert-bge.gguf" -p "Hello world"
        expect_ids "151644 872 151667 6023 151668 151645" -m "$vocab/ggml-vocab-qwen3.gguf" -f "$out/chat.txt" --parse-special
        expect_ids "27 91 318 4906 91 29 872 151667 6023 151668 27 91 318 6213 91 29" -m "$vocab/ggml-vocab-qwen3.gguf" \
            -f "$out/chat.txt" --no-bos
        # every hard case of one vocab, through files: the .hard.noparse.out lines
        if [ -f "$vocab/ggml-vocab-qwen3.gguf.hard.inp" ]; then
            awk -v dir="$out" 'BEGIN { RS = "\n__ggml_vocab_test__\n"; ORS = "" } { f = dir "/hard." NR ".txt"; print > f; close(f) }' \
                "$vocab/ggml-vocab-qwen3.gguf.hard.inp"
            # (with TFM_TEST_QUICK every third case: a process a case, each loading the vocab, 0.3 s under the
            # sanitizers; test_tokenizer checks every case of every vocab in every configuration)
            n=0 same=0 checked=0 step=1
            [ -n "${TFM_TEST_QUICK:-}" ] && [ "$TFM_TEST_QUICK" != 0 ] && step=3
            while IFS= read -r want; do
                n=$((n + 1))
                [ $(((n - 1) % step)) -eq 0 ] || continue
                checked=$((checked + 1))
                got=$("$tokenize" -m "$vocab/ggml-vocab-qwen3.gguf" -f "$out/hard.$n.txt" --ids --no-bos 2>/dev/null)
                [ " $got" = "$want" ] || [ -z "$got$want" ] && same=$((same + 1))
            done <"$vocab/ggml-vocab-qwen3.gguf.hard.noparse.out"
            if [ $n -eq 21 ] && [ $same -eq $checked ]; then ok
            else bad "tfm-tokenize on qwen3's hard cases: $same of $checked (of $n) as llama.cpp"; fi
        fi
        # one "id<TAB>piece" a line by default, control tokens by their text, escapes for bytes of no character
        "$tokenize" -m "$vocab/ggml-vocab-llama3.gguf" -p $'Hi\n\xf0\x9f\xa6\x99' >"$out/cli_stdout" 2>"$out/cli_stderr"
        if [ $? -eq 0 ] && [ "$(head -n 1 "$out/cli_stdout")" = $'128000\t<|begin_of_text|>' ] &&
           grep -q $'^198\t\\\\n$' "$out/cli_stdout" && [ "$(wc -l <"$out/cli_stdout")" -ge 4 ]; then ok
        else bad "tfm-tokenize pieces: $(head -c 300 "$out/cli_stdout")"; fi
        # bad arguments and files: one line on stderr, nothing on stdout, exit 2 (arguments) or 1 (files)
        expect_tokenize_error() {
            local want=$1 what=$2
            shift 2
            "$tokenize" "$@" >"$out/cli_stdout" 2>"$out/cli_stderr"
            local rc=$?
            if [ $rc -eq "$want" ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ]; then ok
            else bad "tfm-tokenize $what: exit $rc (want $want), stderr: $(head -c 300 "$out/cli_stderr")"; fi
        }
        expect_tokenize_error 2 "no arguments"
        expect_tokenize_error 2 "no text" -m "$vocab/ggml-vocab-llama3.gguf"
        expect_tokenize_error 2 "-p and -f" -m "$vocab/ggml-vocab-llama3.gguf" -p x -f "$out/chat.txt"
        expect_tokenize_error 2 "unknown option" -m "$vocab/ggml-vocab-llama3.gguf" -p x --bogus
        expect_tokenize_error 2 "option without value" -m "$vocab/ggml-vocab-llama3.gguf" -p
        expect_tokenize_error 1 "missing vocab" -m "$out/no_such.gguf" -p x
        expect_tokenize_error 1 "missing text file" -m "$vocab/ggml-vocab-llama3.gguf" -f "$out/no_such.txt"
        expect_tokenize_error 1 "a text file as the vocab" -m "$out/chat.txt" -p x
        head -c 100000 "$vocab/ggml-vocab-llama3.gguf" >"$out/cut_vocab.gguf"
        expect_tokenize_error 1 "a vocab cut short" -m "$out/cut_vocab.gguf" -p x
        if [ -f "$shared/models/stories260K.bin" ]; then
            expect_tokenize_error 1 "a model without a vocab" -m "$shared/models/stories260K.bin" -p x
        fi
    else
        head -n 20 "$out/cli_build.log" >&2
        bad "examples/tokenize.c does not build"
    fi
else
    echo "  SKIP cli: tfm-tokenize: ../shared/vocab is missing" >&2
    skip=$((skip + 1))
fi

section chat
# ---------------------------------------------------------------- tfm-chat
# From a pipe: one message a line, one answer a line; the turns after the first reuse the context;
# /save and /load come back to a conversation (the next answer is the one the saved session gave)
chat=$out/tfm-chat
gguf=$shared/models/stories260K.gguf
if [ -f "$gguf" ] && build_tool chat "$chat"; then
    chat_args="-m $gguf --template chatml --temp 0 -n 8 -t 1 --system Stories."
    printf 'Tell me a story.\nAnd then?\n/save %s\nWho was there?\n' "$out/chat.state" |
        "$chat" $chat_args >"$out/cli_stdout" 2>"$out/cli_stderr"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(wc -l <"$out/cli_stdout")" -eq 3 ] && [ "$(grep -c '^\[turn' "$out/cli_stderr")" -eq 3 ] &&
       grep -q '^\[turn 1: prefilled [0-9]* tok (0 reused)' "$out/cli_stderr" &&
       grep -q '^\[turn 3: prefilled [0-9]* tok ([1-9][0-9]* reused)' "$out/cli_stderr" && [ -s "$out/chat.state" ]; then ok
    else bad "tfm-chat from a pipe: exit $rc, stdout $(wc -l <"$out/cli_stdout") lines, stderr $(head -c 400 "$out/cli_stderr")"; fi
    tail -n 1 "$out/cli_stdout" >"$out/chat_third.txt"
    printf '/load %s\nWho was there?\n' "$out/chat.state" | "$chat" $chat_args >"$out/cli_stdout" 2>"$out/cli_stderr"
    rc=$?
    if [ $rc -eq 0 ] && cmp -s "$out/cli_stdout" "$out/chat_third.txt" && grep -q "loaded 5 messages" "$out/cli_stderr" &&
       grep -q '^\[turn 1: prefilled [0-9]* tok ([1-9][0-9]* reused)' "$out/cli_stderr"; then ok
    else bad "tfm-chat /load: exit $rc, stdout '$(cat "$out/cli_stdout")' (want '$(cat "$out/chat_third.txt")'), stderr $(head -c 300 "$out/cli_stderr")"; fi
    # errors: no template in the file and none named, an unknown name, a missing or damaged saved chat, an unknown command
    for case in "|no chat template" "--template nope|not recognised" ; do
        printf 'Hi\n' | "$chat" -m "$gguf" ${case%%|*} >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 1 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] &&
           grep -q "${case#*|}" "$out/cli_stderr"; then ok
        else bad "tfm-chat ${case%%|*}: exit $rc, stderr $(head -c 300 "$out/cli_stderr")"; fi
    done
    head -c 200 "$out/chat.state" >"$out/chat.cut"
    for line in "/load $out/no_such.state" "/load $out/chat.cut" "/bogus"; do
        printf '%s\n' "$line" | "$chat" $chat_args >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 1 ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ]; then ok
        else bad "tfm-chat '$line': exit $rc, stderr $(head -c 300 "$out/cli_stderr")"; fi
    done
else
    [ -f "$gguf" ] && bad "examples/chat.c does not build: $(head -c 300 "$out/cli_build.log")"
    [ -f "$gguf" ] || { echo "  SKIP cli: stories260K.gguf is missing (tfm-chat)" >&2; skip=$((skip + 1)); }
fi

section readme
# ---------------------------------------------------------------- the README's programs, as written
# Every complete program in the README (a C block starting with #define TFM_IMPLEMENTATION) compiles and
# runs; the generation example tells a story with stories260K.gguf. Without TFM_CLI_IMPL each is built on
# its own, as written, at -O0 (the library's warnings at -O2 are make's and the tests'; the programs' own
# lines have the same warnings at -O0).
awk '/^```c$/ {n++; f=1; next} /^```$/ {f=0} f {print > (dir "/readme_" n ".c")}' dir="$out" README.md
found=0
for src in "$out"/readme_*.c; do
    [ -f "$src" ] && head -n 1 "$src" | grep -q '^#define TFM_IMPLEMENTATION' || continue
    found=$((found + 1))
    if ! { if [ -n "${TFM_CLI_IMPL:-}" ]; then cc="$cc -pedantic -Wall -Wextra -Werror" compile_program "$src" "${src%.c}"
           else $cc -pedantic -Wall -Wextra -Werror -O0 "$src" -o "${src%.c}" -lm 2>"$out/cli_build.log"; fi; }; then
        bad "README program $(basename "$src") does not build: $(head -c 300 "$out/cli_build.log")"
        continue
    fi
    if grep -q 'tfm_generate.h' "$src"; then
        if [ -f "$shared/models/stories260K.gguf" ]; then
            "${src%.c}" "$shared/models/stories260K.gguf" >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 0 ] && head -c 16 "$out/cli_stdout" | grep -q "^Once upon a time" &&
               grep -q "^\[100 tokens, stopped by budget\]$" "$out/cli_stdout"; then ok
            else bad "README generation program: exit $rc, $(head -c 300 "$out/cli_stdout") $(head -c 200 "$out/cli_stderr")"; fi
        else skip=$((skip + 1)); fi
    elif grep -q '\.\./shared/' "$src" && ! [ -d ../shared ]; then
        skip=$((skip + 1)) # an example reading a file of ../shared, absent here
    elif grep -q 'ggml-vocab-' "$src"; then
        # the tokenizer example opens a vocab of ../shared/vocab by its name, as a reader would beside it
        if [ -d "$shared/vocab" ]; then
            exe=$(cd "$(dirname "$src")" && pwd)/$(basename "${src%.c}")
            (cd "$shared/vocab" && "$exe") >"$out/cli_stdout" 2>"$out/cli_stderr"
            rc=$?
            if [ $rc -eq 0 ] && grep -q "tokens, the last ends a generation: 1" "$out/cli_stdout"; then ok
            else bad "README program $(basename "$src"): exit $rc, $(head -c 300 "$out/cli_stdout")"; fi
        else skip=$((skip + 1)); fi
    else
        "${src%.c}" >"$out/cli_stdout" 2>"$out/cli_stderr"
        rc=$?
        if [ $rc -eq 0 ] && [ -s "$out/cli_stdout" ]; then ok
        else bad "README program $(basename "$src"): exit $rc"; fi
    fi
done
if [ $found -ge 4 ]; then ok; else bad "the README has $found complete programs, expected at least 4"; fi

section embed
# ---------------------------------------------------------------- tfm-embed
# The reference vectors are llama.cpp b4748's (../shared/archs/README.md: llama-embedding's computation
# through its C API, embed_f32, written exactly as float32).
embed=$out/tfm-embed
archs=$shared/archs
# the largest |a - b| over two files of float32s (od prints them; awk compares), or "size" if they differ
max_diff() {
    if [ "$(wc -c <"$1")" -ne "$(wc -c <"$2")" ]; then echo size; return; fi
    paste <(od -An -v -tf4 -w4 "$1") <(od -An -v -tf4 -w4 "$2") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g\n", m + 0 }'
}
within() { [ "$1" != size ] && awk -v d="$1" -v lim="$2" 'BEGIN { exit !(d <= lim) }'; }
if [ -f "$archs/bert-shared.gguf" ] && [ -f "$archs/bert-shared.emb.mean.f32" ]; then
    if build_tool embed "$embed"; then
        sentences=$archs/bert.sentences.txt
        for pooling in mean cls; do
            "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" --pooling $pooling --format f32 >"$out/emb.f32" 2>"$out/cli_stderr"
            d=$(max_diff "$out/emb.f32" "$archs/bert-shared.emb.$pooling.f32")
            if within "$d" 1e-4; then ok; else bad "tfm-embed --pooling $pooling off llama.cpp's by $d"; fi
            "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" --pooling $pooling --format f32 --no-normalize >"$out/emb.f32" 2>&1
            d=$(max_diff "$out/emb.f32" "$archs/bert-shared.emb.$pooling.raw.f32")
            if within "$d" 1e-4; then ok; else bad "tfm-embed --pooling $pooling --no-normalize off llama.cpp's by $d"; fi
        done
        # the file's pooling (cls) by default; 1 and 2 threads, batches of 1 and 32: the same bytes
        "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" --pooling cls --format f32 -t 1 >"$out/emb_cls.f32" 2>&1
        "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" --format f32 -t 2 --batch 1 >"$out/emb.f32" 2>&1
        if cmp -s "$out/emb.f32" "$out/emb_cls.f32"; then ok; else bad "tfm-embed: default pooling, 2 threads, --batch 1 differ"; fi
        # text: one vector a line, 64 numbers; -p gives the first line's vector exactly; json lines
        "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" >"$out/emb.txt" 2>&1
        "$embed" -m "$archs/bert-shared.gguf" -p "$(head -n 1 "$sentences")" >"$out/emb1.txt" 2>&1
        if [ "$(wc -l <"$out/emb.txt")" -eq 3 ] && [ "$(head -n 1 "$out/emb.txt" | wc -w)" -eq 64 ] &&
           [ "$(head -n 1 "$out/emb.txt")" = "$(cat "$out/emb1.txt")" ]; then ok
        else bad "tfm-embed text format: $(head -c 200 "$out/emb.txt")"; fi
        "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" --format json >"$out/emb.json" 2>&1
        if [ "$(grep -c '^{"index": [0-2], "embedding": \[[-0-9.e, ]*\]}$' "$out/emb.json")" -eq 3 ]; then ok
        else bad "tfm-embed --format json: $(head -c 200 "$out/emb.json")"; fi
        # none: one vector a token (9 + 12 + 13)
        "$embed" -m "$archs/bert-shared.gguf" -f "$sentences" --pooling none --format f32 >"$out/emb.f32" 2>&1
        if [ "$(wc -c <"$out/emb.f32")" -eq $((34 * 64 * 4)) ]; then ok; else bad "tfm-embed --pooling none: $(wc -c <"$out/emb.f32") bytes"; fi
        # a decoder: its last token's final hidden state
        if [ -f "$archs/gpt2-shared.gguf" ]; then
            "$embed" -m "$archs/gpt2-shared.gguf" -f "$sentences" --format json >"$out/emb.json" 2>"$out/cli_stderr"
            if [ $? -eq 0 ] && [ "$(wc -l <"$out/emb.json")" -eq 3 ]; then ok; else bad "tfm-embed on a decoder: $(head -c 200 "$out/cli_stderr")"; fi
        fi
        expect_embed_error() {
            local want=$1 what=$2 says=$3
            shift 3
            "$embed" "$@" >"$out/cli_stdout" 2>"$out/cli_stderr"
            local rc=$?
            if [ $rc -eq "$want" ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] &&
               grep -qF -- "$says" "$out/cli_stderr"; then ok
            else bad "tfm-embed $what: exit $rc (want $want), stderr (want '$says'): $(head -c 300 "$out/cli_stderr")"; fi
        }
        expect_embed_error 2 "no arguments" "give a model"
        expect_embed_error 2 "no text" "give the texts" -m "$archs/bert-shared.gguf"
        expect_embed_error 2 "bad pooling" "--pooling wants one of" -m "$archs/bert-shared.gguf" -p x --pooling max
        expect_embed_error 2 "bad format" "--format wants one of" -m "$archs/bert-shared.gguf" -p x --format csv
        expect_embed_error 1 "missing model" "cannot open" -m "$out/no_such.gguf" -p x
        expect_embed_error 1 "text over the context" "text 3: 13 tokens, more than the context's 12" \
            -m "$archs/bert-shared.gguf" -f "$sentences" -c 12
        # tfm-synth --arch bert: a small BGE-shaped encoder with the BGE vocab; its default pooling is cls
        synth=${TFM_SYNTH:-build/tfm-synth}
        if [ -x "$synth" ] && [ -f "$shared/vocab/ggml-vocab-bert-bge.gguf" ]; then
            "$synth" --shape bge-small --dim 64 --hidden 128 --layers 1 --heads 2 --kv-heads 2 --format gguf --type q8_0 \
                -z "$shared/vocab/ggml-vocab-bert-bge.gguf" -o "$out/bge.gguf" 2>"$out/cli_stderr"
            "$embed" -m "$out/bge.gguf" -f "$sentences" --format f32 >"$out/emb.f32" 2>>"$out/cli_stderr" &&
                "$embed" -m "$out/bge.gguf" -f "$sentences" --format f32 --pooling cls >"$out/emb_cls.f32" 2>>"$out/cli_stderr"
            if [ $? -eq 0 ] && [ "$(wc -c <"$out/emb.f32")" -eq $((3 * 64 * 4)) ] && cmp -s "$out/emb.f32" "$out/emb_cls.f32"; then ok
            else bad "tfm-synth --shape bge-small then tfm-embed: $(head -c 300 "$out/cli_stderr")"; fi
        fi
        # ---------------------------------------------------------------- tfm-retrieve
        retrieve=$out/tfm-retrieve
        if build_tool retrieve "$retrieve"; then
            doc=$out/doc.txt
            printf 'The cat sat on the mat and looked at the garden.\n\nRivers carry water from the mountains to the sea.\nThey shape valleys over many years.\n\nA quick brown fox jumps over the lazy dog.\n\nBread is made from flour, water, salt and yeast.\n\nThe library opens at nine and closes at six.\n' >"$doc"
            "$retrieve" index -m "$archs/bert-shared.gguf" -f "$doc" -o "$out/doc.idx" >"$out/cli_stdout" 2>"$out/cli_stderr"
            if [ $? -eq 0 ] && grep -q "indexed 5 passages" "$out/cli_stderr"; then ok; else bad "tfm-retrieve index: $(head -c 300 "$out/cli_stderr")"; fi
            # a passage's own text finds it first, cosine 1; the second paragraph is two lines made one
            "$retrieve" query -i "$out/doc.idx" -q "Bread is made from flour, water, salt and yeast." -k 2 >"$out/cli_stdout" 2>"$out/cli_stderr"
            if [ $? -eq 0 ] && [ "$(head -n 1 "$out/cli_stdout")" = $'1\t1.0000\tpassage 3 (bytes 181..229)' ] &&
               [ "$(sed -n 2p "$out/cli_stdout")" = "Bread is made from flour, water, salt and yeast." ] &&
               [ "$(wc -l <"$out/cli_stdout")" -eq 4 ]; then ok
            else bad "tfm-retrieve query: $(head -c 300 "$out/cli_stdout") $(head -c 200 "$out/cli_stderr")"; fi
            "$retrieve" query -i "$out/doc.idx" -q "Rivers carry water from the mountains to the sea. They shape valleys over many years." -k 1 >"$out/cli_stdout" 2>&1
            if grep -q $'^1\t1.0000\tpassage 1 ' "$out/cli_stdout"; then ok; else bad "tfm-retrieve query of a two-line passage: $(head -c 200 "$out/cli_stdout")"; fi
            expect_retrieve_error() {
                local want=$1 what=$2 says=$3
                shift 3
                "$retrieve" "$@" >"$out/cli_stdout" 2>"$out/cli_stderr"
                local rc=$?
                if [ $rc -eq "$want" ] && [ ! -s "$out/cli_stdout" ] && [ "$(wc -l <"$out/cli_stderr")" -eq 1 ] &&
                   grep -qF -- "$says" "$out/cli_stderr"; then ok
                else bad "tfm-retrieve $what: exit $rc (want $want), stderr (want '$says'): $(head -c 300 "$out/cli_stderr")"; fi
            }
            cp "$out/doc.idx" "$out/bad.idx"
            printf '\x55' | dd of="$out/bad.idx" bs=1 seek=200 conv=notrunc 2>/dev/null
            expect_retrieve_error 1 "a corrupted index" "corrupted index" query -i "$out/bad.idx" -q x
            head -c 150 "$out/doc.idx" >"$out/bad.idx"
            expect_retrieve_error 1 "an index cut short" "$out/bad.idx" query -i "$out/bad.idx" -q x
            expect_retrieve_error 1 "not an index" "not a tfm index file" query -i "$doc" -q x
            if [ -f "$archs/gpt2-shared.gguf" ]; then
                expect_retrieve_error 1 "another model" "is not the model that made" query -i "$out/doc.idx" -q x -m "$archs/gpt2-shared.gguf"
            fi
            cp "$doc" "$out/doc2.txt"
            echo "More text." >>"$out/doc2.txt"
            expect_retrieve_error 1 "a changed document" "has changed since" query -i "$out/doc.idx" -q x -f "$out/doc2.txt"
            expect_retrieve_error 2 "no command" "the command is index or query"
            expect_retrieve_error 2 "index without -o" "index needs" index -m "$archs/bert-shared.gguf" -f "$doc"
        else
            head -n 20 "$out/cli_build.log" >&2
            bad "examples/retrieve.c does not build"
        fi
    else
        head -n 20 "$out/cli_build.log" >&2
        bad "examples/embed.c does not build"
    fi
else
    echo "  SKIP cli: tfm-embed: ../shared/archs/bert-shared.gguf is missing" >&2
    skip=$((skip + 1))
fi

section end
echo "cli: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
