#!/usr/bin/env bash
# The README's main job: set up a fresh machine, build, and classify the shipped real clip
# (apps/cli/assets/vtest-clip.mp4, credited in apps/cli/assets/README.md) with `tubelet classify`.
#
# Model and views: UniFormer-S 8×8 (Kinetics-400, the official 8-frame test pipeline) at 1 of its 4
# official temporal views, so that the job finishes well under a minute on 2 CPU cores (~35 GFLOP,
# ~20-30 s on the pure-TypeScript cpu backend). The backend is the best available one (`--backend auto`:
# cuda, then a hardware WebGPU adapter, then cpu). No --weights: seeded random weights, and the command
# says so loudly. Arguments are passed on to that command (the last of a repeated option wins), e.g.
#   npm start -- --views 4x1 --weights path/or/URL/of/uniformer_small_k400_8x8.pth
# Then ViViT-B/16x2, also at 1 view: ~912 GFLOP, several minutes on 2 CPU cores (TUBELET_SKIP_VIVIT=1 skips it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
pnpm turbo run build --output-logs=errors-only
TUBELET="node apps/cli/dist/bin.js"
CLIP=apps/cli/assets/vtest-clip.mp4

echo
echo "==> tubelet classify $CLIP --model uniformer-s-k400-8x8 --views 1x1 $*"
echo "    (UniFormer-S 8x8 at 1 of the 4 official views: ~20-30 s on 2 CPU cores; random weights unless --weights is given)"
start=$(date +%s%N)
$TUBELET classify "$CLIP" --model uniformer-s-k400-8x8 --views 1x1 "$@"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "==> main job done in $((ms / 1000)).$(( (ms % 1000) / 100 )) s (wall clock of the classify command)"

echo
echo "==> tubelet classify $CLIP --model vivit-b-16x2-k400 --views 1x1"
echo "    (ViViT-B/16x2: ~912 GFLOP for one of its 12 official views — several minutes on 2 CPU cores;"
echo "     Ctrl-C skips it; TUBELET_SKIP_VIVIT=1 leaves it out)"
if [ -z "${TUBELET_SKIP_VIVIT:-}" ]; then
  start=$(date +%s%N)
  $TUBELET classify "$CLIP" --model vivit-b-16x2-k400 --views 1x1
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "==> ViViT-B done in $((ms / 1000)).$(( (ms % 1000) / 100 )) s"
fi
