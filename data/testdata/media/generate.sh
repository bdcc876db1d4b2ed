#!/usr/bin/env bash
# Makes the media test fixtures (speech/ and video/) from scratch, into OUT_DIR.
#
# Needs: espeak-ng, sox, ffmpeg (with libx264, libvpx-vp9, libmp3lame, libopus,
# drawtext/fontconfig), ImageMagick (convert) and the DejaVu fonts.
# On Debian/Ubuntu:  apt-get install -y ffmpeg espeak-ng sox imagemagick fonts-dejavu-core
#
# Usage:  generate.sh OUT_DIR      (../../../setup.sh runs it into the fixture cache)
#
# Output is deterministic for a given tool version (bitexact flags, single-threaded
# x264/VP9): on Debian 12 it is byte-identical to SHA256SUMS beside this script. Other
# versions of espeak-ng/ffmpeg may give slightly different bytes and timings;
# speech/transcripts.csv is rewritten from what is measured on each run.
set -euo pipefail

OUT="${1:?usage: generate.sh OUT_DIR}"
mkdir -p "$OUT"
cd "$OUT"

for tool in espeak-ng sox soxi ffmpeg ffprobe convert; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

VOICE=en-us           # espeak-ng voice; default speed (175 wpm)
RATE=16000            # all WAVs: 16 kHz, mono, 16-bit PCM
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Common ffmpeg flags: quiet, overwrite, reproducible output, no metadata.
FF=(ffmpeg -hide_banner -loglevel error -y)
BITEXACT=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)

# say TEXT OUT.wav : espeak-ng -> 16 kHz mono s16 WAV (no dither, so it is repeatable)
say() {
  espeak-ng -v "$VOICE" -w "$TMP/raw.wav" "$1"
  sox -D "$TMP/raw.wav" -r "$RATE" -c 1 -b 16 -e signed-integer "$2"
}

# samples FILE : number of samples in a WAV
samples() { soxi -s "$1"; }

# secs N : samples -> seconds with 3 decimals
secs() { awk -v n="$1" -v r="$RATE" 'BEGIN { printf "%.3f", n / r }'; }

########################################################################
# speech/
########################################################################
mkdir -p speech video
S=speech

T_CLEAN="The weather tomorrow will be sunny with a light breeze in the afternoon."
T_SPAM="Buy cheap pills now, visit our website and get ninety percent off today only."
T_THREAT="I am going to find you and hurt you, you worthless idiot."
T_PROF="This is fucking ridiculous, what a piece of shit."
T_PII="Call me on five five five, one two three, four five six seven."

say "$T_CLEAN"  $S/clean-weather.wav
say "$T_SPAM"   $S/spam-pills.wav
say "$T_THREAT" $S/threat.wav
say "$T_PROF"   $S/profanity.wav
say "$T_PII"    $S/numbers-pii.wav

# (f) exactly 5 s of digital silence
sox -D -r "$RATE" -c 1 -n -b 16 -e signed-integer $S/silence.wav trim 0 $((5 * RATE))s

# Compressed versions of spam-pills and profanity, for decoder tests.
for b in spam-pills profanity; do
  "${FF[@]}" -i $S/$b.wav -c:a libmp3lame -b:a 32k -ar "$RATE" -ac 1 "${BITEXACT[@]}" $S/$b.mp3
  "${FF[@]}" -i $S/$b.wav -c:a libopus -b:a 24k -ar "$RATE" -ac 1 "${BITEXACT[@]}" -f ogg $S/$b.opus
done

# Broken inputs: the first 3 kB (3072 bytes) of an MP3, and a zero-byte WAV.
head -c 3072 $S/spam-pills.mp3 > $S/corrupt.mp3
: > $S/empty.wav

# (g) long-talk.wav: ~60 s of clean sentences; the threat sentence starts at exactly 45.000 s.
# Each sentence is synthesised on its own, its leading/trailing silence trimmed, then the
# pieces are joined with digital silence; start/end come from the exact sample counts.
LONG_BEFORE=(
  "Good morning everyone, and welcome to the weekly community update."
  "The library will open at nine o'clock on Saturday and close at five."
  "Our garden club planted twenty new trees along the river path last week."
  "Please remember to bring a reusable bag when you visit the farmers market."
  "The school choir will sing a short concert in the town hall on Friday evening."
  "Volunteers are still needed to help paint the fence around the playground."
  "The swimming pool has new opening hours during the summer holidays."
  "A lost grey cat was found near the bakery, so please call the shelter if it is yours."
  "Next month we will hold a free workshop about fixing old bicycles."
  "Coffee and cake will be served after the meeting."
)
LONG_AFTER=(
  "The bus to the city centre now leaves every fifteen minutes."
  "Thank you all for listening, and have a wonderful week."
  "See you next time."
)
THREAT_START=$((45 * RATE))     # 45.000 s
TOTAL=$((60 * RATE))            # 60.000 s
GAP=$((RATE * 7 / 10))          # 0.7 s between sentences
LEAD=$((RATE / 2))              # 0.5 s before the first sentence

# silence N OUT : N samples of digital silence
silence() { sox -D -r "$RATE" -c 1 -n -b 16 -e signed-integer "$2" trim 0 "$1"s; }
# piece TEXT OUT : one sentence with its leading/trailing silence removed
piece() {
  say "$1" "$TMP/untrimmed.wav"
  sox -D "$TMP/untrimmed.wav" "$2" silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse
}

parts=()
rows=()
pos=0
n=0
add_silence() {   # add_silence N
  n=$((n + 1)); silence "$1" "$TMP/p$n.wav"; parts+=("$TMP/p$n.wav"); pos=$((pos + $1))
}
add_sentence() {  # add_sentence TEXT
  n=$((n + 1)); piece "$1" "$TMP/p$n.wav"; parts+=("$TMP/p$n.wav")
  local len; len=$(samples "$TMP/p$n.wav")
  rows+=("long-talk.wav,$(secs $pos),$(secs $((pos + len))),\"$1\"")
  pos=$((pos + len))
}

add_silence $LEAD
for t in "${LONG_BEFORE[@]}"; do
  add_sentence "$t"
  add_silence $GAP
done
if [ $pos -gt $THREAT_START ]; then echo "long-talk: clean part too long ($pos samples)" >&2; exit 1; fi
if [ $pos -lt $THREAT_START ]; then add_silence $((THREAT_START - pos)); fi   # threat at exactly 45.000 s
add_sentence "$T_THREAT"
for t in "${LONG_AFTER[@]}"; do
  add_silence $GAP
  add_sentence "$t"
done
if [ $pos -lt $TOTAL ]; then add_silence $((TOTAL - pos)); fi
sox -D "${parts[@]}" $S/long-talk.wav

# speech/transcripts.csv
{
  echo "file,start_s,end_s,text"
  row() { echo "$1,0.000,$(secs "$(samples "$S/$2")"),\"$3\""; }   # row FILE WAV-FOR-LENGTH TEXT
  row clean-weather.wav clean-weather.wav "$T_CLEAN"
  row spam-pills.wav    spam-pills.wav    "$T_SPAM"
  row spam-pills.mp3    spam-pills.wav    "$T_SPAM"
  row spam-pills.opus   spam-pills.wav    "$T_SPAM"
  row threat.wav        threat.wav        "$T_THREAT"
  row profanity.wav     profanity.wav     "$T_PROF"
  row profanity.mp3     profanity.wav     "$T_PROF"
  row profanity.opus    profanity.wav     "$T_PROF"
  row numbers-pii.wav   numbers-pii.wav   "$T_PII"
  row silence.wav       silence.wav       ""
  for r in "${rows[@]}"; do echo "$r"; done
} > $S/transcripts.csv

echo "speech/ done"

########################################################################
# video/
########################################################################
V=video
W=640; H=360; FPS=25
# H.264: yuv420p, 640x360, 25 fps, CRF 28 capped at 800 kbit/s, 2 s GOP, moov atom first.
X264=(-c:v libx264 -preset medium -crf 28 -maxrate 800k -bufsize 1600k -g 50
      -pix_fmt yuv420p -threads 1 -movflags +faststart)
SRC="testsrc2=size=${W}x${H}:rate=${FPS}"

# The banned still: a distinctive geometric poster drawn with ImageMagick at exactly the
# video frame size, so the frames showing it are the still itself (no letterbox/scaling).
convert -size ${W}x${H} gradient:'#1a237e-#ff6f00' \
  -fill '#ffeb3b' -stroke black -strokewidth 4 -draw "circle 150,180 150,60" \
  -fill '#00bcd4' -draw "rectangle 300,40 460,200" \
  -fill '#e91e63' -draw "polygon 480,320 620,320 550,170" \
  -fill none -stroke white -strokewidth 10 -draw "line 0,360 640,0" \
  -fill '#4caf50' -stroke black -strokewidth 4 -draw "roundrectangle 320,230 450,330 20,20" \
  -stroke none -fill white -font DejaVu-Sans-Bold -pointsize 36 -annotate +30+345 'BANK TEST 01' \
  -fill black -draw "circle 150,180 150,140" \
  -depth 8 -strip -define png:exclude-chunks=date,time $V/banned-still.png

# (a) 20 s of testsrc2, no audio
"${FF[@]}" -f lavfi -i "$SRC:duration=20" "${X264[@]}" "${BITEXACT[@]}" $V/clean-testsrc.mp4

# (b) 20 s of testsrc2; the banned still covers the whole frame for 8.0 <= t < 11.0
#     (frames 200..274 at 25 fps); keyframes forced at 8 s and 11 s.
"${FF[@]}" -f lavfi -i "$SRC:duration=20" -loop 1 -framerate $FPS -i $V/banned-still.png \
  -filter_complex "[1:v]scale=${W}:${H},setsar=1,format=yuv420p[still];[0:v][still]overlay=0:0:enable='gte(t,8)*lt(t,11)':shortest=1[v]" \
  -map "[v]" -force_key_frames 8,11 "${X264[@]}" "${BITEXACT[@]}" $V/banned-insert.mp4

# (c) 12 s of testsrc2 with speech/threat.wav starting at 5.000 s (AAC, 48 kHz mono)
"${FF[@]}" -f lavfi -i "$SRC:duration=12" -i $S/threat.wav \
  -filter_complex "[1:a]adelay=5000:all=1,apad,atrim=0:12,aresample=48000[a]" \
  -map 0:v -map "[a]" "${X264[@]}" -c:a aac -b:a 64k -ac 1 "${BITEXACT[@]}" $V/spoken-threat.mp4

# (d) 10 s, plain white background, caption burned in (two lines, black DejaVu Sans 48 px with a 2 px black outline)
"${FF[@]}" -f lavfi -i "color=c=white:size=${W}x${H}:rate=${FPS}:duration=10" \
  -vf "drawtext=font='DejaVu Sans':fontcolor=black:borderw=2:bordercolor=black:fontsize=48:text='BUY CHEAP PILLS':x=(w-text_w)/2:y=h/2-60,drawtext=font='DejaVu Sans':fontcolor=black:borderw=2:bordercolor=black:fontsize=48:text='AT SPAM DOT EXAMPLE':x=(w-text_w)/2:y=h/2+10" \
  "${X264[@]}" "${BITEXACT[@]}" $V/burned-text.mp4

# (e) WebM/VP9 version of (a), 5 s, no audio
"${FF[@]}" -f lavfi -i "$SRC:duration=5" -c:v libvpx-vp9 -b:v 400k -deadline good -cpu-used 4 \
  -row-mt 0 -threads 1 -pix_fmt yuv420p "${BITEXACT[@]}" $V/clean-testsrc.webm

# (f) truncated MP4: the first 40 kB (40960 bytes) of (b)
head -c 40960 $V/banned-insert.mp4 > $V/corrupt.mp4

# (g) an MP4 with exactly one frame
"${FF[@]}" -f lavfi -i "$SRC" -frames:v 1 "${X264[@]}" "${BITEXACT[@]}" $V/tiny-1frame.mp4

echo "video/ done"
