# The collective addon for multi-learner training (native/collective), included by CMakeLists.txt in
# both configures; built only when its library is found, otherwise one STATUS line and nothing else:
# - CPU configure: glam_mpi.node (MPI) when find_package(MPI) finds an MPI (Debian: openmpi-bin
#   libopenmpi-dev).
# - CUDA configure (build-cuda/): glam_nccl.node (MPI + NCCL + cudart) when MPI and NCCL's nccl.h and
#   libnccl are found ($NCCL_HOME, $CPATH / $LIBRARY_PATH, or the nvidia-nccl-cu12/13 wheel beside the
#   CUDA toolkit's wheels).
# Subtle: the engine addons (glam_cpu, glam_cuda) never link MPI or NCCL, so they load on machines
# without either; lib/native/collective.ts loads this addon only for --learners > 1.
set(MPI_CXX_SKIP_MPICXX ON)  # the C API only: no libmpi_cxx (the deprecated C++ bindings)
find_package(MPI COMPONENTS CXX QUIET)
if(NOT MPI_CXX_FOUND)
  message(STATUS "glam: MPI not found: glam_mpi.node is not built (multi-learner training needs openmpi-bin and libopenmpi-dev)")
  return()
endif()

set(_glam_coll ${CMAKE_SOURCE_DIR}/native/collective)
if(NOT GLAM_CUDA)
  add_library(glam_mpi SHARED ${_glam_coll}/addon.cpp ${_glam_coll}/mpi_collective.cpp ${CMAKE_JS_SRC})
  set_target_properties(glam_mpi PROPERTIES PREFIX "" SUFFIX ".node")
  glam_cpu_flags(glam_mpi)
  target_link_libraries(glam_mpi PRIVATE MPI::MPI_CXX ${CMAKE_DL_LIBS} ${CMAKE_JS_LIB})
  message(STATUS "glam: glam_mpi.node with MPI ${MPI_CXX_VERSION}")
  return()
endif()

string(REPLACE ":" ";" _glam_nccl_inc_hints "$ENV{CPATH}")
string(REPLACE ":" ";" _glam_nccl_lib_hints "$ENV{LIBRARY_PATH}")
set(_glam_nccl_roots $ENV{NCCL_HOME} ${CUDAToolkit_LIBRARY_ROOT}/../nccl ${CUDAToolkit_LIBRARY_ROOT}/../../nvidia/nccl)
find_path(GLAM_NCCL_INC nccl.h HINTS ${_glam_nccl_roots} ${_glam_nccl_inc_hints} PATH_SUFFIXES include)
find_library(GLAM_NCCL_LIB NAMES nccl libnccl.so.2 HINTS ${_glam_nccl_roots} ${_glam_nccl_lib_hints} PATH_SUFFIXES lib lib64)
if(NOT GLAM_NCCL_INC OR NOT GLAM_NCCL_LIB)
  message(STATUS "glam: NCCL not found (nccl.h / libnccl): glam_nccl.node is not built (set NCCL_HOME, e.g. to the nvidia-nccl-cu13 wheel's nvidia/nccl)")
  return()
endif()
add_library(glam_nccl SHARED ${_glam_coll}/addon.cpp ${_glam_coll}/mpi_collective.cpp ${_glam_coll}/nccl_collective.cpp ${CMAKE_JS_SRC})
set_target_properties(glam_nccl PROPERTIES PREFIX "" SUFFIX ".node")
glam_cuda_flags(glam_nccl)
get_filename_component(_glam_nccl_dir ${GLAM_NCCL_LIB} DIRECTORY)
target_include_directories(glam_nccl PRIVATE ${GLAM_NCCL_INC})
target_compile_definitions(glam_nccl PRIVATE GLAM_WITH_NCCL)
target_link_libraries(glam_nccl PRIVATE MPI::MPI_CXX ${GLAM_NCCL_LIB} ${CMAKE_DL_LIBS} ${CMAKE_JS_LIB})
set_target_properties(glam_nccl PROPERTIES BUILD_RPATH ${_glam_nccl_dir} INSTALL_RPATH ${_glam_nccl_dir})
message(STATUS "glam: glam_nccl.node with NCCL ${GLAM_NCCL_LIB} and MPI ${MPI_CXX_VERSION}")
