#!/usr/bin/env bash
# The seed corpus of every fuzz target, made from small generated files (nothing is downloaded):
#   bash tests/fuzz/seeds.sh OUT_DIR "COMPILER AND FLAGS"
# OUT_DIR/<target>/ gets: the generated seeds (seeds.c: GGUF files of every type, vocabs, states, chat
# conversations; tiny models of tfm-synth in llama2.c and GGUF, f32 to q4_1, dense and mixture of
# experts), the files of ../shared small enough to fuzz (tok512.bin; the first tokens of the vocabs of
# ../shared/vocab, their chat templates), and the regression files of tests/fuzz/regressions/<target>
# (every finding so far).
set -u
cd "$(dirname "$0")/../.."
out=${1:-build/fuzz/seeds}
cc=${2:-gcc -std=c99 -O0 -Iinclude}
shared=${TFM_SHARED:-../shared}
mkdir -p "$out"/{gguf,tokenizer_bin,tokenize,model_gguf,model_llama2c,embed_index,vocab,state,chat}
$cc -Itests/fuzz tests/fuzz/seeds.c -o "$out/seeds" -lm && "$out/seeds" "$out" "$shared" || exit 1
$cc examples/synth.c -o "$out/tfm-synth" -lm || exit 1
small="--dim 16 --hidden 24 --layers 2 --heads 2 --vocab 40 --seq-len 16"
synth() { "$out/tfm-synth" "$@" 2>/dev/null || { echo "seeds.sh: tfm-synth $* failed" >&2; exit 1; }; }
synth $small -o "$out/model_llama2c/tiny.bin"
synth $small --kv-heads 1 --own-classifier --seed 2 -o "$out/model_llama2c/gqa-classifier.bin"
synth --dim 8 --hidden 8 --layers 1 --heads 1 --vocab 4 --seq-len 2 -o "$out/model_llama2c/smallest.bin"
synth --dim 8 --hidden 8 --layers 1 --heads 1 --vocab 8 --seq-len 4 --format gguf -o "$out/model_gguf/smallest.gguf"
synth $small --format gguf -o "$out/model_gguf/tiny-f32.gguf"
synth $small --format gguf --type f16 --kv-heads 1 -o "$out/model_gguf/tiny-f16-gqa.gguf"
synth $small --format gguf --type bf16 --own-classifier -o "$out/model_gguf/tiny-bf16.gguf"
wide="--dim 32 --hidden 32 --layers 1 --heads 2 --vocab 40 --seq-len 8"
for type in q8_0 q4_0 q4_1; do synth $wide --format gguf --type $type -o "$out/model_gguf/wide-$type.gguf"; done
synth $wide --format gguf --type q8_0 --experts 2 --experts-used 1 -o "$out/model_gguf/moe-q8_0.gguf"
synth --dim 16 --hidden 16 --layers 1 --heads 2 --vocab 40 --seq-len 8 --format gguf --experts 3 --experts-used 2 -o "$out/model_gguf/moe-f32.gguf"
# vocab and shape beyond the minimum make the inputs longer and each run slower: one model of each kind
# with the 259 byte and control tokens, the rest with 40 tokens (a stand-in vocab: 3 controls, 37 bytes)
synth --dim 8 --hidden 8 --layers 1 --heads 1 --vocab 300 --seq-len 4 --format gguf -o "$out/model_gguf/bytes-vocab.gguf"
# the models are GGUF files too
cp "$out"/model_gguf/tiny-f32.gguf "$out"/model_gguf/moe-q8_0.gguf "$out/gguf/"
[ -f "$shared/models/tok512.bin" ] && { printf '\0\0\0' | cat - "$shared/models/tok512.bin" >"$out/tokenizer_bin/tok512.bin"; }
for target in gguf tokenizer_bin tokenize model_gguf model_llama2c embed_index vocab state chat; do
    [ -d "tests/fuzz/regressions/$target" ] && cp tests/fuzz/regressions/$target/* "$out/$target/" 2>/dev/null
done
exit 0
