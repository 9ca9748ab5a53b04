#!/usr/bin/env bash
# Everything a fresh machine needs before building: pnpm (pinned, installed locally), the
# workspace dependencies, and Debian's chromium + libvulkan1 (SwiftShader's Vulkan driver lets
# Dawn run the WebGPU backend without a GPU). Sourced by start.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  echo "tubelet needs Node.js >= 20 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 ONNXRUNTIME_NODE_INSTALL=skip
PNPM_VERSION=10.34.9
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "==> installing pnpm $PNPM_VERSION into .tools/"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "pnpm@$PNPM_VERSION" >/dev/null
fi

SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json
if [ ! -f "$SWIFTSHADER_ICD" ] || ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || ! command -v ffmpeg >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium + libvulkan1 (SwiftShader Vulkan driver for WebGPU without a GPU)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium libvulkan1 ffmpeg >/dev/null
  else
    echo "warning: $SWIFTSHADER_ICD not found and not root: WebGPU tests will report no adapter" >&2
  fi
fi
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$SWIFTSHADER_ICD" ] && ! command -v nvidia-smi >/dev/null; then
  export VK_ICD_FILENAMES="$SWIFTSHADER_ICD"
fi

echo "==> pnpm install"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^(Progress|Packages:|\+{3,})' || true
test -d node_modules/.pnpm || { echo "pnpm install failed" >&2; exit 1; }
