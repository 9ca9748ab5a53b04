cmd_Release/obj.target/tubelet_cuda/src/addon.o := g++ -o Release/obj.target/tubelet_cuda/src/addon.o ../src/addon.cc '-DNODE_GYP_MODULE_NAME=tubelet_cuda' '-DUSING_UV_SHARED=1' '-DUSING_V8_SHARED=1' '-DV8_DEPRECATION_WARNINGS=1' '-D_GLIBCXX_USE_CXX11_ABI=1' '-D_FILE_OFFSET_BITS=64' '-D_LARGEFILE_SOURCE' '-D__STDC_FORMAT_MACROS' '-DOPENSSL_NO_PINSHARED' '-DOPENSSL_THREADS' '-DNAPI_VERSION=8' '-DNAPI_CPP_EXCEPTIONS' '-DNODE_ADDON_API_DISABLE_DEPRECATED' '-DBUILDING_NODE_EXTENSION' -I/usr/include/node -I/usr/src -I/usr/deps/openssl/config -I/usr/deps/openssl/openssl/include -I/usr/deps/uv/include -I/usr/deps/zlib -I/usr/deps/v8/include -I../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api -I/usr/local/cuda/include  -fPIC -pthread -Wall -Wextra -Wno-unused-parameter -m64 -O3 -fno-omit-frame-pointer -fno-rtti -std=gnu++17 -std=c++17 -fexceptions -fvisibility=hidden -MMD -MF ./Release/.deps/Release/obj.target/tubelet_cuda/src/addon.o.d.raw   -c
Release/obj.target/tubelet_cuda/src/addon.o: ../src/addon.cc \
 ../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api/napi.h \
 /usr/include/node/node_api.h /usr/include/node/js_native_api.h \
 /usr/include/node/js_native_api_types.h \
 /usr/include/node/node_api_types.h \
 ../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api/napi-inl.h \
 ../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api/napi.h \
 /usr/local/cuda/include/cuda_runtime.h \
 /usr/local/cuda/include/crt/host_config.h \
 /usr/local/cuda/include/builtin_types.h \
 /usr/local/cuda/include/device_types.h \
 /usr/local/cuda/include/crt/host_defines.h \
 /usr/local/cuda/include/driver_types.h \
 /usr/local/cuda/include/vector_types.h \
 /usr/local/cuda/include/surface_types.h \
 /usr/local/cuda/include/texture_types.h \
 /usr/local/cuda/include/library_types.h \
 /usr/local/cuda/include/channel_descriptor.h \
 /usr/local/cuda/include/cuda_runtime_api.h \
 /usr/local/cuda/include/cuda_device_runtime_api.h \
 /usr/local/cuda/include/driver_functions.h \
 /usr/local/cuda/include/vector_functions.h \
 /usr/local/cuda/include/vector_functions.hpp ../src/kernels.h
../src/addon.cc:
../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api/napi.h:
/usr/include/node/node_api.h:
/usr/include/node/js_native_api.h:
/usr/include/node/js_native_api_types.h:
/usr/include/node/node_api_types.h:
../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api/napi-inl.h:
../../../../node_modules/.pnpm/node-addon-api@8.5.0/node_modules/node-addon-api/napi.h:
/usr/local/cuda/include/cuda_runtime.h:
/usr/local/cuda/include/crt/host_config.h:
/usr/local/cuda/include/builtin_types.h:
/usr/local/cuda/include/device_types.h:
/usr/local/cuda/include/crt/host_defines.h:
/usr/local/cuda/include/driver_types.h:
/usr/local/cuda/include/vector_types.h:
/usr/local/cuda/include/surface_types.h:
/usr/local/cuda/include/texture_types.h:
/usr/local/cuda/include/library_types.h:
/usr/local/cuda/include/channel_descriptor.h:
/usr/local/cuda/include/cuda_runtime_api.h:
/usr/local/cuda/include/cuda_device_runtime_api.h:
/usr/local/cuda/include/driver_functions.h:
/usr/local/cuda/include/vector_functions.h:
/usr/local/cuda/include/vector_functions.hpp:
../src/kernels.h:
