#!/bin/sh
# make.sh WORKDIR — trains the two unigram vocabularies of tests/data/ugm
# with Debian's sentencepiece (spm_train 0.1.97) and converts them
# (sp_to_gguf.py). Corpora, all offline Debian packages:
#   kjv:   the King James Bible (bible-kjv, as scripts/default-model.sh);
#          4000 pieces, T5's layout (pad 0, eos 1, unk 2, no bos), no
#          normalization (identity: no charsmap) and extra whitespace kept.
#   multi: the fortune cookies of fortunes-de, -es, -it, -pl, -cs, -ru and
#          fortunes-zh (chinese, tang300, song100), UTF-8 lines only;
#          8000 pieces, byte fallback, 10 <extra_id_N> user-defined tokens
#          and 6 unused [PADi] after them, as T5's added tokens.
# multi keeps spm_train's default normalizer (nmt_nfkc, extra whitespace
# removed), so its GGUF carries a real precompiled_charsmap.
set -eu
w=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$w"
bible -l 100000 gen1:1-rev22:21 | sed -e 's/^ *[0-9][0-9]* //' > "$w/kjv.txt"
f=/usr/share/games/fortunes
for d in de es it pl cs ru; do
    find "$f/$d" -type f ! -name '*.dat' ! -name '*.u8' | sort | xargs cat
done > "$w/multi.raw"
cat "$f/chinese" "$f/tang300" "$f/song100" >> "$w/multi.raw"
grep -av '^%$' "$w/multi.raw" | iconv -f utf-8 -t utf-8 -c | tr -d '\033' |
    grep -av '^\s*$' > "$w/multi.txt"
spm_train --input="$w/kjv.txt" --model_prefix="$w/kjv" --vocab_size=4000 \
    --model_type=unigram --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 \
    --normalization_rule_name=identity --remove_extra_whitespaces=false \
    --input_sentence_size=40000 --shuffle_input_sentence=false > "$w/kjv.log" 2>&1
spm_train --input="$w/multi.txt" --model_prefix="$w/multi" --vocab_size=8000 \
    --model_type=unigram --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 \
    --byte_fallback=true --character_coverage=0.9995 \
    --input_sentence_size=200000 --shuffle_input_sentence=false > "$w/multi.log" 2>&1
"$here/sp_to_gguf.py" "$w/kjv.model" "$here/kjv-ugm.gguf"
added=
for i in 0 1 2 3 4 5 6 7 8 9; do added="$added --added $((8000 + i))=<extra_id_$((9 - i))>"; done
# shellcheck disable=SC2086
"$here/sp_to_gguf.py" "$w/multi.model" "$here/multi-ugm.gguf" --vocab-size 8016 $added
