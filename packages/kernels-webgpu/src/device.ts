import { BackendUnavailableError } from '@tubelet/core';

/** Where the device came from. */
export type DeviceSource = 'caller' | 'navigator' | 'dawn';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface DeviceOptions {
  /** Use this device instead of requesting one (the backend then never destroys it). */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** Adapter features to enable when the adapter has them (default: ['shader-f16', 'timestamp-query']). */
  optionalFeatures?: readonly GPUFeatureName[];
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapterInfo: AdapterInfo;
  source: DeviceSource;
  /** True when the backend created the device and so must destroy it. */
  owned: boolean;
  /** The object that must stay reachable while the device is used (Dawn's GPU object in Node). */
  keepAlive?: unknown;
}

const INSTALL_HINT =
  'in Node without a GPU install chromium + libvulkan1 and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Dawn's GPU object, created once per process and never dropped: when it is garbage collected
 * while (or after) devices made from it are in use, dawn.node crashes or hangs.
 */
let dawnGpu: GPU | undefined;
let dawnLoading: Promise<GPU> | undefined;

function unavailable(reason: string): BackendUnavailableError {
  return new BackendUnavailableError('webgpu', reason);
}

function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.trim();
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

async function loadDawn(): Promise<GPU> {
  if (dawnGpu) return dawnGpu;
  dawnLoading ??= (async () => {
    // A variable specifier keeps bundlers from trying to pull the native module into browser builds.
    const spec = 'webgpu';
    let mod: { create(flags: string[]): GPU; globals: object };
    try {
      mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as typeof mod;
    } catch (e) {
      throw unavailable(`the 'webgpu' package (Dawn for Node) failed to load: ${oneLine(e)}`);
    }
    try {
      Object.assign(globalThis, mod.globals);
      dawnGpu = mod.create([]);
      return dawnGpu;
    } catch (e) {
      throw unavailable(`the 'webgpu' package (Dawn for Node) failed to start: ${oneLine(e)}`);
    }
  })();
  try {
    return await dawnLoading;
  } catch (e) {
    dawnLoading = undefined;
    throw e;
  }
}

export function describeAdapter(info: Partial<GPUAdapterInfo> | undefined | null): AdapterInfo {
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

/** Finds a GPU (caller's device, navigator.gpu, or Dawn in Node) and requests a device on it. */
export async function acquireDevice(opts: DeviceOptions = {}): Promise<AcquiredDevice> {
  if (opts.device) {
    const info = (opts.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return { device: opts.device, adapterInfo: describeAdapter(info), source: 'caller', owned: false };
  }
  let gpu: GPU;
  let source: DeviceSource;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    gpu = nav.gpu;
    source = 'navigator';
  } else if (isNode()) {
    gpu = await loadDawn();
    source = 'dawn';
  } else {
    throw unavailable('this environment has no navigator.gpu (WebGPU is not supported or not enabled)');
  }

  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined);
  } catch (e) {
    throw unavailable(`requesting a WebGPU adapter failed: ${oneLine(e)}`);
  }
  if (!adapter) {
    throw unavailable(source === 'dawn' ? `no WebGPU adapter found (${INSTALL_HINT})` : 'no WebGPU adapter found');
  }

  const wanted = opts.optionalFeatures ?? (['shader-f16', 'timestamp-query'] as GPUFeatureName[]);
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: l.maxBufferSize,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw unavailable(`the WebGPU adapter refused a device: ${oneLine(e)}`);
  }
  const info = (adapter as { info?: GPUAdapterInfo }).info ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return { device, adapterInfo: describeAdapter(info), source, owned: true, keepAlive: source === 'dawn' ? gpu : undefined };
}
