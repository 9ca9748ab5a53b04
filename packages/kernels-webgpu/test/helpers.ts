// Dawn finds SwiftShader (Chromium's CPU Vulkan driver) through this when there is no GPU.
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { backendReport, initBackend } from '@tubelet/core';
import { type WebGpuBackend, registerWebGpuBackend } from '../src/index';

export interface WebGpuSetup {
  backend: WebGpuBackend | null;
  /** Why webgpu is unavailable (null when it is available). */
  reason: string | null;
}

/**
 * Registers the webgpu backend and initialises it. When no adapter can be found the reason is
 * printed and the GPU tests skip; TUBELET_REQUIRE_WEBGPU=1 turns that into a failure (CI).
 */
export async function setupWebGpu(): Promise<WebGpuSetup> {
  registerWebGpuBackend();
  const status = (await backendReport()).find((s) => s.name === 'webgpu');
  if (!status?.available) {
    const reason = status?.reason ?? 'webgpu backend not registered';
    if (process.env.TUBELET_REQUIRE_WEBGPU === '1') throw new Error(`webgpu required but unavailable: ${reason}`);
    console.warn(`[kernels-webgpu] SKIPPING GPU tests: webgpu backend unavailable: ${reason}`);
    return { backend: null, reason };
  }
  return { backend: (await initBackend('webgpu')) as WebGpuBackend, reason: null };
}
