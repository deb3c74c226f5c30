#!/usr/bin/env bash
# Regenerates the screenshots the README shows (headless). The drone scenario needs no road map:
# it is drawn on the real Gwangju dongs. The road scenarios use the Helsinki test area offline
# (cache it first: see the README), or set AREA to a Gwangju area you have imported.
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
twin view testbed_day --area "$area" --start "10.6 h" --frames 90 --size 1600x900 --captions --screenshot "$out/testbed_day.png"
echo "screenshots in $out"
