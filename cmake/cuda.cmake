# The CUDA addon, glam_cuda.node, and its test addon, glam_cuda_test.node (GLAM_TEST_HOOKS)
# (included by CMakeLists.txt when GLAM_CUDA=ON).
# Sources: native/ops/cuda (kernels, cuBLASLt GEMM), native/cuda (device weights, workspace, the
# scoring pass, CUDA graphs, the T5 engine) and the host-only model code shared with the CPU addon (the decoder over
# the Backend interface, the heads after it, the parameter table and TrainState, the family table,
# weights loading, the batch plan and the attention work lists, packed-batch validation, and T5:
# its weights, model, scorer and trainable set),
# compiled once (object library glam_cuda_core) for both; then native/napi_cuda (module init, the
# CUDA engine's loader) with the shared N-API model wrapper and workers (native/napi/model_wrap.cpp,
# model_train.cpp) for the addon, and native/napi_cuda_test (the kernel test hooks) for the test addon.
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
  ${CMAKE_SOURCE_DIR}/native/cuda/*.cpp)
add_library(glam_cuda_core OBJECT ${GLAM_CUDA_SOURCES}
  ${CMAKE_SOURCE_DIR}/native/model/weights.cpp
  ${CMAKE_SOURCE_DIR}/native/model/family.cpp
  ${CMAKE_SOURCE_DIR}/native/model/decoder.cpp
  ${CMAKE_SOURCE_DIR}/native/model/heads.cpp
  ${CMAKE_SOURCE_DIR}/native/model/param_table.cpp
  ${CMAKE_SOURCE_DIR}/native/model/train_state.cpp
  ${CMAKE_SOURCE_DIR}/native/model/batch_plan.cpp
  ${CMAKE_SOURCE_DIR}/native/model/attention_plan.cpp
  ${CMAKE_SOURCE_DIR}/native/model/t5_weights.cpp
  ${CMAKE_SOURCE_DIR}/native/model/t5_model.cpp
  ${CMAKE_SOURCE_DIR}/native/model/t5_scorer.cpp
  ${CMAKE_SOURCE_DIR}/native/model/t5_training.cpp
  ${CMAKE_SOURCE_DIR}/native/model/packed_batch.cpp
  ${CMAKE_SOURCE_DIR}/native/model/trainable_set.cpp
  ${CMAKE_SOURCE_DIR}/native/model/engine.cpp
  ${CMAKE_SOURCE_DIR}/native/model/prompt_logprobs.cpp)
set_target_properties(glam_cuda_core PROPERTIES POSITION_INDEPENDENT_CODE ON)
find_package(Threads REQUIRED)

# The flags every CUDA-build target compiles with.
function(glam_cuda_flags target)
  target_include_directories(${target} PRIVATE ${CMAKE_JS_INC} ${CMAKE_SOURCE_DIR}/native
    ${CMAKE_SOURCE_DIR}/node_modules/node-addon-api ${GLAM_CUBLASLT_INC})
  target_compile_definitions(${target} PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-O3 -Wall -Wextra -Wno-unused-parameter>
    $<$<COMPILE_LANGUAGE:CUDA>:-O3 --expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter>)
  target_link_libraries(${target} PRIVATE CUDA::cudart_static Threads::Threads)
endfunction()
glam_cuda_flags(glam_cuda_core)

# An addon: its N-API sources over the CUDA engine's objects.
function(glam_cuda_addon target)
  add_library(${target} SHARED ${ARGN} ${CMAKE_JS_SRC})
  set_target_properties(${target} PROPERTIES PREFIX "" SUFFIX ".node"
    CUDA_RUNTIME_LIBRARY Static
    BUILD_RPATH "${_glam_cublas_dir}" INSTALL_RPATH "${_glam_cublas_dir}")
  glam_cuda_flags(${target})
  target_link_libraries(${target} PRIVATE glam_cuda_core ${CMAKE_JS_LIB} ${GLAM_CUBLASLT})
endfunction()

file(GLOB GLAM_CUDA_NAPI_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/native/napi_cuda/*.cpp)
glam_cuda_addon(glam_cuda ${GLAM_CUDA_NAPI_SOURCES}
  ${CMAKE_SOURCE_DIR}/native/napi/model_wrap.cpp ${CMAKE_SOURCE_DIR}/native/napi/model_train.cpp)
if(GLAM_TEST_HOOKS)
  file(GLOB GLAM_CUDA_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/native/napi_cuda_test/*.cpp)
  glam_cuda_addon(glam_cuda_test ${GLAM_CUDA_TEST_SOURCES})
endif()
