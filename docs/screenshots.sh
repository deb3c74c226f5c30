#!/usr/bin/env bash
# Reproduces the screenshot of each scenario (headless; needs the Helsinki test area cached, or
# set AREA to a Gwangju area you have imported). Usage: bash docs/screenshots.sh [OUT_DIR]
set -euo pipefail
out="${1:-screenshots}"
area="${AREA:-helsinki_test}"
export SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}" SDL_AUDIODRIVER=dummy
twin view bitgreen_shuttles --area "$area" --start "10.75 h" --frames 90 --size 1600x900 --screenshot "$out/bitgreen_shuttles.png"
twin view cheomdan3_shuttles --area "$area" --start "14.5 h" --frames 90 --size 1600x900 --screenshot "$out/cheomdan3_shuttles.png"
twin view certification_center --area "$area" --start "9.4 d" --frames 90 --size 1600x900 --screenshot "$out/certification_center.png"
twin view testbed_day --area "$area" --start "10.6 h" --frames 90 --size 1600x900 --screenshot "$out/testbed_day.png"
echo "screenshots in $out"
