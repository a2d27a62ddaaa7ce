#!/usr/bin/env bash
# Compares build/tfm-tokenize with llama.cpp's llama-tokenize on random text, vocab by vocab: a development
# check beside the tests (which hold llama.cpp's ids of fixed cases). The text mixes scripts, digits,
# whitespace of every kind, contractions, emoji, combining marks, NUL and control bytes, U+2581, special
# tokens' spellings and (every other text) bytes that are not UTF-8 (none that makes llama.cpp throw:
# no lead byte above 0xF4). Each text goes through both with special tokens parsed and not.
#
#   bash tools/compare_llama_tokenize.sh PATH/TO/llama-tokenize [VOCAB.gguf ...]
#
# Vocabs: default every ../shared/vocab/*.gguf. TEXTS=4 texts of BYTES=20000 bytes, SEED=1 (environment).
# Prints one line per vocab and exits 1 when any ids differ (the texts that differ are kept in $OUT).
set -u
cd "$(dirname "$0")/.."
llama=${1:?usage: compare_llama_tokenize.sh PATH/TO/llama-tokenize [VOCAB.gguf ...]}
shift
vocabs=("$@")
[ ${#vocabs[@]} -eq 0 ] && vocabs=(../shared/vocab/*.gguf)
texts=${TEXTS:-4} bytes=${BYTES:-20000} seed=${SEED:-1}
OUT=${OUT:-build/compare}
mkdir -p "$OUT"
make -s build/tfm-tokenize || exit 1

python3 - "$OUT" "$texts" "$bytes" "$seed" <<'EOF'
import random, sys
out, n, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pools = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "  ", "\n", "\r\n", "\t",
         "\u00a0", "\u3000", "\u2003", "'s", "'S", "'ll", "'LL", "'re", "'ve", "'d", "'t", "'m", "'x",
         "!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`\"'", "éèêëàâäôöûüçñßøåæœÉÈÀÖÜÇÑ", "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗ",
         "αβγδεζηθικλμνξοπρστυφχψω", "中文字符東京日本語漢字", "한국어조선말", "ひらがなカタカナ", "עברית", "العربية",
         "हिन्दी", "ภาษาไทย", "ខ្មែរ", "①②③½¾²³⁴Ⅻ٣٤٥", "😀🦙👍🏽👨‍👩‍👧🏳️‍🌈", "\u0301\u0308\u0323", "ﬁﬂＡＢＣ１２３",
         "™©®€£¥§¶•…—–“”‘’«»", "<|im_start|>", "<|im_end|>", "<think>", "</s>", "<s>", "[CLS]", "[SEP]", "[UNK]",
         "<|endoftext|>", "<|begin_of_text|>", "<unk>", "\u2581", "\u200b\u200d\ufeff", "\x00\x01\x1b\x7f"]
for t in range(n):
    rnd = random.Random(seed * 1000 + t)
    data = bytearray()
    while len(data) < size:
        p = rnd.choice(pools)
        s = ''.join(rnd.choice(p) for _ in range(rnd.randint(1, 8))) if len(p) > 3 and p[0] not in '<[' and rnd.random() < 0.7 else p
        data += s.encode('utf-8')
        if t % 2 and rnd.random() < 0.02:
            data += rnd.choice([b'\x80', b'\xc3', b'\xe2\x82', b'\xf0\x9f', b'\xed\xa0\x80', b'\xc0\x80', b'\xbf\xbf'])
    open('%s/text%d.txt' % (out, t), 'wb').write(bytes(data))
EOF

bad=0
for v in "${vocabs[@]}"; do
    same=0 total=0
    for ((t = 0; t < texts; t++)); do
        for parse in 0 1; do
            total=$((total + 1))
            if [ $parse = 1 ]; then theirs_flag="" ours_flag="--parse-special"; else theirs_flag="--no-parse-special" ours_flag=""; fi
            theirs=$("$llama" -m "$v" -f "$OUT/text$t.txt" --ids --log-disable --no-escape $theirs_flag 2>/dev/null |
                     tail -n 1 | tr -d '[],')
            ours=$(build/tfm-tokenize -m "$v" -f "$OUT/text$t.txt" --ids $ours_flag 2>&1)
            if [ "$theirs" = "$ours" ]; then same=$((same + 1)); else cp "$OUT/text$t.txt" "$OUT/differs-$(basename "$v")-$t.txt"; fi
        done
    done
    echo "$(basename "$v"): $same of $total texts give llama.cpp's ids"
    [ $same -eq $total ] || bad=1
done
exit $bad
