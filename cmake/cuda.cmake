# The CUDA addon, glam_cuda.node (included by CMakeLists.txt when GLAM_CUDA=ON).
# Sources: native/ops/cuda (kernels, cuBLASLt GEMM), native/cuda (device weights, workspace, the
# scoring pass, CUDA graphs), native/napi_cuda (module init, the CUDA engine's loader, kernel test
# hooks), the shared N-API model wrapper and workers (native/napi/model_wrap.cpp, model_train.cpp), and
# the host-only model code it shares with the CPU addon (the decoder over the Backend interface,
# the family table, weights loading, the batch plan, packed-batch validation).
# Subtle: cudart is linked statically and cuBLASLt through an rpath to the toolkit's library
# directory, and libcuda is never linked (cudart opens it at run time), so require() succeeds on a
# machine without a GPU or driver and the addon can report 0 devices. cuBLASLt may live apart from
# nvcc (pip nvidia-cublas wheels beside a bare nvcc, as on the GPU test machine): it is then found
# through LIBRARY_PATH / CPATH.
# $GLAM_CUDA_ARCHS (e.g. "90" on the GPU test machine) wins over the cache, so it applies to an
# existing build-cuda/ too.
if(DEFINED ENV{GLAM_CUDA_ARCHS})
  set(CMAKE_CUDA_ARCHITECTURES "$ENV{GLAM_CUDA_ARCHS}")
elseif(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  # Ampere (A100, A10/3090), Ada (L4/4090), Hopper (H100/H200) SASS + compute_90 PTX for newer GPUs
  set(CMAKE_CUDA_ARCHITECTURES "80-real;86-real;89-real;90")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

string(REPLACE ":" ";" _glam_lib_hints "$ENV{LIBRARY_PATH}")
string(REPLACE ":" ";" _glam_inc_hints "$ENV{CPATH}")
find_library(GLAM_CUBLASLT NAMES cublasLt libcublasLt.so.13 libcublasLt.so.12
  HINTS ${CUDAToolkit_LIBRARY_DIR} ${_glam_lib_hints} REQUIRED)
find_path(GLAM_CUBLASLT_INC cublasLt.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${_glam_inc_hints} REQUIRED)
get_filename_component(_glam_cublas_dir ${GLAM_CUBLASLT} DIRECTORY)
message(STATUS "glam_cuda: nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES}, cuBLASLt ${GLAM_CUBLASLT}")

file(GLOB GLAM_CUDA_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/native/ops/cuda/*.cu
  ${CMAKE_SOURCE_DIR}/native/ops/cuda/*.cpp
  ${CMAKE_SOURCE_DIR}/native/cuda/*.cu
  ${CMAKE_SOURCE_DIR}/native/cuda/*.cpp
  ${CMAKE_SOURCE_DIR}/native/napi_cuda/*.cpp)
add_library(glam_cuda SHARED ${GLAM_CUDA_SOURCES}
  ${CMAKE_SOURCE_DIR}/native/model/weights.cpp
  ${CMAKE_SOURCE_DIR}/native/model/family.cpp
  ${CMAKE_SOURCE_DIR}/native/model/decoder.cpp
  ${CMAKE_SOURCE_DIR}/native/model/batch_plan.cpp
  ${CMAKE_SOURCE_DIR}/native/model/packed_batch.cpp
  ${CMAKE_SOURCE_DIR}/native/model/trainable_set.cpp
  ${CMAKE_SOURCE_DIR}/native/model/engine.cpp
  ${CMAKE_SOURCE_DIR}/native/napi/model_wrap.cpp
  ${CMAKE_SOURCE_DIR}/native/napi/model_train.cpp
  ${CMAKE_SOURCE_DIR}/native/napi/plan_exports.cpp
  ${CMAKE_JS_SRC})
set_target_properties(glam_cuda PROPERTIES PREFIX "" SUFFIX ".node"
  CUDA_RUNTIME_LIBRARY Static
  BUILD_RPATH "${_glam_cublas_dir}" INSTALL_RPATH "${_glam_cublas_dir}")
target_include_directories(glam_cuda PRIVATE ${CMAKE_JS_INC} ${CMAKE_SOURCE_DIR}/native
  ${CMAKE_SOURCE_DIR}/node_modules/node-addon-api ${GLAM_CUBLASLT_INC})
target_compile_definitions(glam_cuda PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED)
target_compile_options(glam_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:-O3 -Wall -Wextra -Wno-unused-parameter>
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter>)
find_package(Threads REQUIRED)
target_link_libraries(glam_cuda PRIVATE ${CMAKE_JS_LIB} CUDA::cudart_static ${GLAM_CUBLASLT} Threads::Threads)
