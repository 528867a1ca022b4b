# libaios: the C API (csrc/capi, header csrc/include/aios/aios.h) as a shared library over the
# static core, installed into the wheel with a CMake package so that `find_package(aios CONFIG)`
# gives the imported target aios::aios (docs/c-api.md). Only the aios_* C symbols are exported.
file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/csrc/include/aios/aios.h AIOS_VERSION_LINE REGEX "^#define AIOS_VERSION_STRING ")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" AIOS_VERSION "${AIOS_VERSION_LINE}")
file(GLOB AIOS_CAPI_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/csrc/capi/*.cpp)
add_library(aios SHARED ${AIOS_CAPI_SOURCES})
target_link_libraries(aios PRIVATE aios_core_lib)
target_include_directories(aios PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/csrc/include>
  $<INSTALL_INTERFACE:aios_core/include>)
target_include_directories(aios PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/csrc)
target_compile_definitions(aios PRIVATE AIOS_BUILDING_LIBRARY)
target_compile_options(aios PRIVATE ${AIOS_WARNINGS} ${AIOS_OPT})
set_target_properties(aios PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # The core's C++ symbols (and any static runtime) stay local: the ABI is the C functions only.
  target_link_options(aios PRIVATE "LINKER:--version-script=${CMAKE_CURRENT_SOURCE_DIR}/cmake/aios.map"
                      "LINKER:--no-undefined")
  set_property(TARGET aios APPEND PROPERTY LINK_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cmake/aios.map)
endif()

include(CMakePackageConfigHelpers)
set(AIOS_CMAKE_DIR aios_core/lib/cmake/aios)
install(TARGETS aios EXPORT aiosTargets
        LIBRARY DESTINATION aios_core/lib
        ARCHIVE DESTINATION aios_core/lib
        RUNTIME DESTINATION aios_core/lib)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/csrc/include/aios/aios.h DESTINATION aios_core/include/aios)
install(EXPORT aiosTargets NAMESPACE aios:: DESTINATION ${AIOS_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/aiosConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/aiosConfig.cmake INSTALL_DESTINATION ${AIOS_CMAKE_DIR})
# The C ABI changes with the minor version before 1.0 (docs/c-api.md): same minor version required.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/aiosConfigVersion.cmake
                                 VERSION ${AIOS_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/aiosConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/aiosConfigVersion.cmake
        DESTINATION ${AIOS_CMAKE_DIR})
