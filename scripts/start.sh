#!/usr/bin/env bash
# The README's main job: set up a fresh machine, build, and run the tubelet demo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
pnpm turbo run build --output-logs=errors-only
node apps/cli/dist/bin.js demo "$@"
