#!/usr/bin/env bash
# `pnpm bench` / `npm run bench`: set up like the tests (pnpm, dependencies, the SwiftShader driver where
# there is no GPU), build, then run every package's benchmark: op-level GFLOP/s (kernels-webgpu) and model
# latency (models), each against onnxruntime-node on the same graph in the same run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
pnpm turbo run bench --concurrency=1 --output-logs=full
