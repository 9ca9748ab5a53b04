// tubelet_cuda.node: the N-API side of the tubelet cuda backend.
//
// Loading this addon does NOT touch CUDA: nothing here runs at load time but the export table,
// so it loads on machines without a GPU or driver. CUDA is initialised by init(), which reports
// failure as {ok: false, reason} instead of throwing. Every other device call needs a
// successful init() first.
//
// All device work is ordered on the legacy default stream (stream 0): uploads, kernels and
// downloads run in submission order. Downloads and sync() run on the libuv thread pool and
// return Promises, so JavaScript is never blocked on a readback.
//
// TODO(gemm): dlopen libcublas / libcublasLt at run time (they are not on the build machine,
// so they are not linked); matmul/conv GEMMs go there. Nothing here pretends to do a GEMM.

#include <napi.h>

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "kernels.h"

namespace {

// One device allocation, owned by a JS External. The struct lives until the External is
// garbage collected; the device memory is freed by free() (or by the finalizer if free() was
// never called), but not while an async copy still reads it.
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  int pending = 0;     // async copies in flight (touched on the JS thread only)
  bool freed = false;  // free() was called
};

// Tags externals made by alloc() so a foreign External is rejected.
const napi_type_tag kBufferTag = {0x7475626574656c63ULL, 0x7564612d62756630ULL};

bool gInitialized = false;
int gDevice = 0;
// Stream-ordered allocation (cudaMallocAsync/cudaFreeAsync on stream 0) where the device has
// memory pools: freeing then does not wait for the device, and the pool caches memory.
bool gPooled = false;

std::string ErrStr(cudaError_t e) { return cudaGetErrorString(e); }

// 13000 -> "13.0"
std::string CudaVersionStr(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

void ReleaseDevice(DeviceBuffer* b) {
  // Ordered after all queued work on stream 0. At process teardown this may just return an error.
  if (b->ptr != nullptr) {
    if (gPooled) cudaFreeAsync(b->ptr, 0);
    else cudaFree(b->ptr);
  }
  b->ptr = nullptr;
}

void RequireInit(Napi::Env env) {
  if (!gInitialized) throw Napi::Error::New(env, "tubelet_cuda: CUDA is not initialised (call init() first)");
}

DeviceBuffer* GetBuffer(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (!v.IsExternal()) throw Napi::TypeError::New(env, std::string("tubelet_cuda: ") + what + " must be a handle from alloc()");
  auto ext = v.As<Napi::External<DeviceBuffer>>();
  if (!ext.CheckTypeTag(&kBufferTag)) {
    throw Napi::TypeError::New(env, std::string("tubelet_cuda: ") + what + " is not a handle from alloc()");
  }
  DeviceBuffer* b = ext.Data();
  if (b->freed) throw Napi::Error::New(env, std::string("tubelet_cuda: ") + what + " was already freed");
  return b;
}

size_t GetSize(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("tubelet_cuda: ") + what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != static_cast<double>(static_cast<uint64_t>(d)) || d > 9007199254740991.0) {
    throw Napi::RangeError::New(env, std::string("tubelet_cuda: ") + what + " must be a non-negative integer");
  }
  return static_cast<size_t>(d);
}

size_t OptSize(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return info.Length() > i && !info[i].IsUndefined() ? GetSize(info[i], what) : 0;
}

void CheckRange(Napi::Env env, const DeviceBuffer* b, size_t offset, size_t bytes, const char* op) {
  if (offset > b->bytes || bytes > b->bytes - offset) {
    throw Napi::RangeError::New(env, std::string("tubelet_cuda: ") + op + " of " + std::to_string(bytes) +
                                         " bytes at offset " + std::to_string(offset) + " exceeds the buffer's " +
                                         std::to_string(b->bytes) + " bytes");
  }
}

// A copy finished (or failed): drop the pin on the buffer and do a free() that waited for it.
void Unpin(DeviceBuffer* b) {
  if (--b->pending == 0 && b->freed) ReleaseDevice(b);
}

// ---------------------------------------------------------------------------------------------

Napi::Value RuntimeVersion(const Napi::CallbackInfo& info) {
  // Compiled-in constant: needs no driver.
  return Napi::Number::New(info.Env(), CUDART_VERSION);
}

Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    n = 0;
  }
  return Napi::Number::New(info.Env(), n);
}

Napi::Value Fail(Napi::Env env, const std::string& reason, cudaError_t code) {
  cudaGetLastError();  // clear a non-sticky error so a later init() can retry
  Napi::Object r = Napi::Object::New(env);
  r.Set("ok", false);
  r.Set("reason", reason);
  r.Set("code", static_cast<int>(code));
  return r;
}

// init(device = 0) -> {ok: true, device, name, computeCapability, totalMemory, driverVersion,
// runtimeVersion} | {ok: false, reason, code}. Never throws for CUDA errors.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int device = static_cast<int>(OptSize(info, 0, "device"));
  if (gInitialized && device != gDevice) {
    return Fail(env, "already initialised on device " + std::to_string(gDevice) + " (one device per process)",
                cudaErrorInvalidDevice);
  }
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaErrorInsufficientDriver) {
    // Say which case it is: no driver at all (the usual one on CPU machines) or an old one.
    int driver = 0;
    cudaDriverGetVersion(&driver);
    std::string why = driver == 0 ? "no NVIDIA driver found: libcuda.so.1 could not be loaded"
                                  : "the driver supports CUDA " + CudaVersionStr(driver) + ", this build needs " +
                                        CudaVersionStr(CUDART_VERSION);
    return Fail(env, ErrStr(e) + " (" + why + ")", e);
  }
  if (e != cudaSuccess) return Fail(env, ErrStr(e), e);
  if (n == 0) return Fail(env, ErrStr(cudaErrorNoDevice), cudaErrorNoDevice);
  if (device >= n) {
    return Fail(env, "device " + std::to_string(device) + " requested but " + std::to_string(n) + " CUDA device(s) found",
                cudaErrorInvalidDevice);
  }
  if ((e = cudaSetDevice(device)) != cudaSuccess) return Fail(env, ErrStr(e), e);
  if ((e = cudaFree(nullptr)) != cudaSuccess) return Fail(env, ErrStr(e), e);  // creates the context
  cudaDeviceProp p;
  if ((e = cudaGetDeviceProperties(&p, device)) != cudaSuccess) return Fail(env, ErrStr(e), e);
  std::string cc = std::to_string(p.major) + "." + std::to_string(p.minor);
  if ((e = tubelet_check_kernels()) != cudaSuccess) {
    return Fail(env, "this build has no kernels for compute capability " + cc + " (built for sm_75, sm_80, sm_90): " + ErrStr(e), e);
  }
  int driver = 0;
  cudaDriverGetVersion(&driver);
  int pools = 0;
  cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device);
  if (pools && !gInitialized) {
    cudaMemPool_t pool;
    if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
      uint64_t keep = UINT64_MAX;  // keep freed blocks cached instead of returning them at each sync
      cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
      gPooled = true;
    }
  }
  cudaGetLastError();
  gDevice = device;
  gInitialized = true;
  Napi::Object r = Napi::Object::New(env);
  r.Set("ok", true);
  r.Set("device", device);
  r.Set("name", std::string(p.name));
  r.Set("computeCapability", cc);
  r.Set("totalMemory", static_cast<double>(p.totalGlobalMem));
  r.Set("multiProcessors", p.multiProcessorCount);
  r.Set("driverVersion", driver);
  r.Set("runtimeVersion", CUDART_VERSION);
  r.Set("pooledAllocator", gPooled);
  return r;
}

Napi::Value MemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  size_t free = 0, total = 0;
  cudaError_t e = cudaMemGetInfo(&free, &total);
  if (e != cudaSuccess) throw Napi::Error::New(env, "tubelet_cuda: cudaMemGetInfo failed: " + ErrStr(e));
  Napi::Object r = Napi::Object::New(env);
  r.Set("free", static_cast<double>(free));
  r.Set("total", static_cast<double>(total));
  return r;
}

// alloc(bytes) -> External handle. Zero-byte buffers hold no device memory, and alloc / upload /
// download / free of them need no CUDA at all (so size-0 tensors work and the handle plumbing is
// testable without a GPU).
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t bytes = GetSize(info[0], "bytes");
  void* ptr = nullptr;
  if (bytes > 0) {
    RequireInit(env);
    cudaError_t e = gPooled ? cudaMallocAsync(&ptr, bytes, 0) : cudaMalloc(&ptr, bytes);
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw Napi::Error::New(env, "tubelet_cuda: cudaMalloc of " + std::to_string(bytes) + " bytes failed: " + ErrStr(e));
    }
  }
  auto* b = new DeviceBuffer();
  b->ptr = ptr;
  b->bytes = bytes;
  auto ext = Napi::External<DeviceBuffer>::New(env, b, [](Napi::Env, DeviceBuffer* d) {
    if (!d->freed) ReleaseDevice(d);  // never free()d: the GC frees it
    delete d;
  });
  ext.TypeTag(&kBufferTag);
  return ext;
}

// free(h): frees the device memory now, or when the last in-flight download of it ends.
Napi::Value Free(const Napi::CallbackInfo& info) {
  DeviceBuffer* b = GetBuffer(info[0], "handle");
  b->freed = true;
  if (b->pending == 0) ReleaseDevice(b);
  return info.Env().Undefined();
}

// upload(h, data: ArrayBuffer | ArrayBufferView, offsetBytes = 0): synchronous host -> device
// copy; `data` may be reused as soon as it returns.
Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceBuffer* b = GetBuffer(info[0], "handle");
  const uint8_t* src = nullptr;
  size_t len = 0;
  if (info.Length() > 1 && info[1].IsArrayBuffer()) {
    auto ab = info[1].As<Napi::ArrayBuffer>();
    src = static_cast<const uint8_t*>(ab.Data());
    len = ab.ByteLength();
  } else if (info.Length() > 1 && info[1].IsTypedArray()) {
    auto ta = info[1].As<Napi::TypedArray>();
    src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    len = ta.ByteLength();
  } else if (info.Length() > 1 && info[1].IsDataView()) {
    auto dv = info[1].As<Napi::DataView>();
    src = static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    len = dv.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "tubelet_cuda: upload data must be an ArrayBuffer or a TypedArray/DataView");
  }
  size_t offset = OptSize(info, 2, "offset");
  CheckRange(env, b, offset, len, "upload");
  if (len == 0) return env.Undefined();
  RequireInit(env);
  cudaError_t e = cudaMemcpy(static_cast<uint8_t*>(b->ptr) + offset, src, len, cudaMemcpyHostToDevice);
  if (e != cudaSuccess) throw Napi::Error::New(env, "tubelet_cuda: upload of " + std::to_string(len) + " bytes failed: " + ErrStr(e));
  return env.Undefined();
}

class DownloadWorker : public Napi::AsyncWorker {
 public:
  DownloadWorker(Napi::Env env, Napi::External<DeviceBuffer> handle, size_t offset, size_t bytes)
      : Napi::AsyncWorker(env, "tubelet_cuda.download"),
        deferred_(Napi::Promise::Deferred::New(env)),
        buf_(handle.Data()),
        offset_(offset),
        bytes_(bytes),
        device_(gDevice) {
    handleRef_ = Napi::Persistent(handle);  // keeps the buffer alive while the copy runs
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes);
    dst_ = ab.Data();
    resultRef_ = Napi::Persistent(ab);
    buf_->pending++;
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (bytes_ == 0) return;
    cudaError_t e = cudaSetDevice(device_);  // the worker thread's current device defaults to 0
    if (e == cudaSuccess) e = cudaMemcpy(dst_, static_cast<const uint8_t*>(buf_->ptr) + offset_, bytes_, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) SetError("tubelet_cuda: download of " + std::to_string(bytes_) + " bytes failed: " + ErrStr(e));
  }

  void OnOK() override {
    Unpin(buf_);
    deferred_.Resolve(resultRef_.Value());
  }

  void OnError(const Napi::Error& err) override {
    Unpin(buf_);
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::External<DeviceBuffer>> handleRef_;
  Napi::Reference<Napi::ArrayBuffer> resultRef_;
  DeviceBuffer* buf_;
  void* dst_ = nullptr;
  size_t offset_;
  size_t bytes_;
  int device_;
};

// download(h, bytes, offsetBytes = 0) -> Promise<ArrayBuffer>; ordered after all queued work.
Napi::Value Download(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GetBuffer(info[0], "handle");
  size_t bytes = GetSize(info[1], "bytes");
  size_t offset = OptSize(info, 2, "offset");
  if (bytes > 0) RequireInit(env);
  auto handle = info[0].As<Napi::External<DeviceBuffer>>();
  CheckRange(env, handle.Data(), offset, bytes, "download");
  auto* w = new DownloadWorker(env, handle, offset, bytes);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

class SyncWorker : public Napi::AsyncWorker {
 public:
  explicit SyncWorker(Napi::Env env)
      : Napi::AsyncWorker(env, "tubelet_cuda.sync"), deferred_(Napi::Promise::Deferred::New(env)), device_(gDevice) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    cudaError_t e = cudaSetDevice(device_);
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    if (e != cudaSuccess) SetError("tubelet_cuda: device synchronise failed: " + ErrStr(e));
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& err) override { deferred_.Reject(err.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int device_;
};

// sync() -> Promise<void>: resolves when all queued device work has finished.
Napi::Value Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  auto* w = new SyncWorker(env);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// add(out, a, b, n, an, bn): out[i] = a[i % an] + b[i % bn], float32, queued on stream 0.
Napi::Value Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceBuffer* out = GetBuffer(info[0], "out");
  DeviceBuffer* a = GetBuffer(info[1], "a");
  DeviceBuffer* b = GetBuffer(info[2], "b");
  size_t n = GetSize(info[3], "n");
  size_t an = GetSize(info[4], "an");
  size_t bn = GetSize(info[5], "bn");
  if (n == 0) return env.Undefined();
  RequireInit(env);
  if (an == 0 || bn == 0 || n % an != 0 || n % bn != 0) {
    throw Napi::RangeError::New(env, "tubelet_cuda: add: operand sizes " + std::to_string(an) + " and " + std::to_string(bn) +
                                         " must divide the output size " + std::to_string(n));
  }
  CheckRange(env, out, 0, n * sizeof(float), "add (out)");
  CheckRange(env, a, 0, an * sizeof(float), "add (a)");
  CheckRange(env, b, 0, bn * sizeof(float), "add (b)");
  cudaError_t e = tubelet_add_f32(static_cast<float*>(out->ptr), static_cast<const float*>(a->ptr),
                                  static_cast<const float*>(b->ptr), n, an, bn, 0);
  if (e != cudaSuccess) throw Napi::Error::New(env, "tubelet_cuda: add kernel launch failed: " + ErrStr(e));
  return env.Undefined();
}

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeVersion", Napi::Function::New(env, RuntimeVersion, "runtimeVersion"));
  exports.Set("deviceCount", Napi::Function::New(env, DeviceCount, "deviceCount"));
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("memInfo", Napi::Function::New(env, MemInfo, "memInfo"));
  exports.Set("alloc", Napi::Function::New(env, Alloc, "alloc"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("upload", Napi::Function::New(env, Upload, "upload"));
  exports.Set("download", Napi::Function::New(env, Download, "download"));
  exports.Set("sync", Napi::Function::New(env, Sync, "sync"));
  exports.Set("add", Napi::Function::New(env, Add, "add"));
  return exports;
}

NODE_API_MODULE(tubelet_cuda, InitModule)
