#!/bin/sh
# Push a test pattern (testsrc2 and a 440 Hz tone) into a trtcd room over RTMP
# with ffmpeg for $DURATION seconds (default 20), and meanwhile read it back
# over HTTP-FLV with ffprobe. Arguments go to `go run ./examples/rtmp-push`
# (-server, -app, -key, -room, -user, -viewer ...); with none it asks the
# development server on http://127.0.0.1:8080 for userSigs.
#
#   examples/rtmp-push/push.sh -app "$APP" -key "$KEY"
set -eu
cd "$(dirname "$0")/../.."
eval "$(go run ./examples/rtmp-push -env "$@")"

ffmpeg -hide_banner -loglevel warning -re \
  -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -t "${DURATION:-20}" \
  -c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline -bf 0 -g 50 -pix_fmt yuv420p \
  -c:a aac -ar 48000 -ac 2 -b:a 64k -flvflags no_duration_filesize -f flv "$PUSH_URL" &
push=$!
trap 'kill "$push" 2>/dev/null || true' INT TERM EXIT

sleep 3 # the push connects and sends its first keyframe
echo "HTTP-FLV: $FLV_URL"
ffprobe -v error -rw_timeout 10000000 \
  -show_entries stream=codec_type,codec_name,profile,width,height,sample_rate,channels -of compact "$FLV_URL"
echo "pushing until ffmpeg ends (${DURATION:-20} s); play it meanwhile with: ffplay '$FLV_URL'"
wait "$push"
