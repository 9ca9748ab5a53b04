#!/usr/bin/env bash
# The README's test command (and CI's): set up a fresh machine, build every package, run every test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
rm -f packages/*/.vitest-result.json apps/*/.vitest-result.json
# where the SwiftShader driver is installed the WebGPU tests must find an adapter, not skip
if [ -n "${VK_ICD_FILENAMES:-}" ]; then export TUBELET_REQUIRE_WEBGPU=1; fi
status=0
pnpm turbo run build test --concurrency=2 --output-logs=new-only || status=$?
node scripts/summarize-tests.mjs || status=$?
exit $status
