#!/usr/bin/env bash
# Regenerates the screenshots and the animation the README shows (headless). The drone scenario
# needs no road map: it is drawn on the real Gwangju dongs. The road scenarios use the Helsinki
# test area offline (cache it first: see the README), or set AREA to a Gwangju area you have imported.
# Usage: bash docs/screenshots.sh [OUT_DIR]   (default docs/screenshots)
set -euo pipefail
out="${1:-docs/screenshots}"
area="${AREA:-helsinki_test}"
mkdir -p "$out"
export SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}" SDL_AUDIODRIVER=dummy
twin view drone_free_zone --start "11.18 h" --frames 10 --size 1600x900 --captions --screenshot "$out/drone_free_zone.png"
twin view bitgreen_shuttles --area "$area" --start "10.75 h" --frames 90 --size 1600x900 --screenshot "$out/bitgreen_shuttles.png"
twin view cheomdan3_shuttles --area "$area" --start "14.5 h" --frames 90 --size 1600x900 --screenshot "$out/cheomdan3_shuttles.png"
twin view certification_center --area "$area" --start "9.4 d" --frames 90 --size 1600x900 --screenshot "$out/certification_center.png"
twin view testbed_day --area "$area" --start "10 h" --speed 600 --frames 150 --size 1600x900 --captions --screenshot "$out/testbed_day.png"
# The exhibition as a visitor sees it: the film twin record makes (busiest hour, director, big
# numbers, captions), a frame of it close up, and a short animation (animated WebP, under 2 MB).
ffmpeg="$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')"
film="$(mktemp -d)/exhibition.mp4"
twin record testbed_day "$film" --area "$area" --size 1280x720 --fps 10 --length "16 s"
"$ffmpeg" -loglevel error -y -ss 5 -i "$film" -frames:v 1 "$out/exhibition_close_up.png"
"$ffmpeg" -loglevel error -y -ss 0.5 -i "$film" -frames:v 1 "$out/exhibition_opening.png"
"$ffmpeg" -loglevel error -y -i "$film" -vf "fps=8,scale=800:-2" -c:v libwebp_anim -quality 60 -loop 0 \
    "$out/exhibition.webp"
cp "${film%.mp4}.srt" "$out/exhibition.srt"
echo "screenshots in $out"
