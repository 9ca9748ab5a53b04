# Builds tubelet_cuda.node: the N-API addon (addon.cc) plus CUDA kernels (kernels.cu) compiled
# by nvcc through a custom rule. cudart is linked statically, so the .node needs no CUDA
# toolkit at run time, only the NVIDIA driver (libcuda.so, dlopen'ed by cudart on first use).
# This file sits in native/ on purpose: at the package root pnpm would run node-gyp on install.
# Driven by ../scripts/build-native.mjs, which sets NVCC and CUDA_HOME.
# TODO(gemm): cuBLAS/cuBLASLt are NOT linked (the build machine has cudart only); load
# libcublas at run time with dlopen instead of adding -lcublas here.
{
  'variables': {
    'nvcc%': '<!(node -p "process.env.NVCC || \'nvcc\'")',
    'cuda_home%': '<!(node -p "process.env.CUDA_HOME || process.env.CUDA_PATH || \'/usr/local/cuda\'")',
  },
  'targets': [
    {
      'target_name': 'tubelet_cuda',
      'sources': ['src/addon.cc', 'src/kernels.cu'],
      'include_dirs': [
        '<!(node -p "require(\'node-addon-api\').include_dir")',
        '<(cuda_home)/include',
      ],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions'],
      'cflags_cc': ['-std=c++17', '-fexceptions', '-fvisibility=hidden'],
      'libraries': ['-L<(cuda_home)/lib64', '-lcudart_static', '-ldl', '-lrt', '-lpthread'],
      'rules': [
        {
          'rule_name': 'nvcc',
          'extension': 'cu',
          'message': 'NVCC <(RULE_INPUT_PATH)',
          'inputs': ['<(RULE_INPUT_PATH)', 'src/kernels.h'],
          'outputs': ['<(INTERMEDIATE_DIR)/<(RULE_INPUT_ROOT).o'],
          'action': [
            '<(nvcc)', '-c', '-O3', '-std=c++17',
            '-Xcompiler', '-fPIC,-fvisibility=hidden',
            '-gencode', 'arch=compute_75,code=sm_75',
            '-gencode', 'arch=compute_80,code=sm_80',
            '-gencode', 'arch=compute_90,code=[sm_90,compute_90]',
            '-o', '<@(_outputs)', '<(RULE_INPUT_PATH)',
          ],
          'process_outputs_as_sources': 1,
        },
      ],
    },
  ],
}
