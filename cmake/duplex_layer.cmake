# Declares one layer of the library: a library whose public headers live in include/duplex/<layer>/
# and which links only to the layers it names. Exported as duplex::<layer> (duplex::ws, ...).
function(duplex_layer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  if(DUPLEX_SHARED)
    add_library(${name} SHARED ${ARG_SOURCES})
  else()
    add_library(${name} STATIC ${ARG_SOURCES})
  endif()
  string(REPLACE "duplex_" "" short ${name})
  add_library(duplex::${short} ALIAS ${name})
  set_target_properties(${name} PROPERTIES
    EXPORT_NAME ${short}
    # A static layer may still end up inside a consumer's shared library.
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION}
    # 0.x: every minor version may break the ABI.
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_compile_features(${name} PUBLIC cxx_std_20)
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS}
                        PRIVATE $<BUILD_INTERFACE:duplex_warnings> ${ARG_PRIVATE_DEPENDS})
  if(DUPLEX_LTO AND DUPLEX_SHARED)
    set_property(TARGET ${name} PROPERTY INTERPROCEDURAL_OPTIMIZATION ON)
  elseif(DUPLEX_LTO)
    # Fat objects: an app linked with LTO inlines across the layers, while the tests, and a
    # consumer of the installed archive that does not use LTO, link their machine code as usual.
    target_compile_options(${name} PRIVATE -flto=auto -ffat-lto-objects)
  endif()
  set_property(GLOBAL APPEND PROPERTY DUPLEX_LAYERS ${name})
endfunction()

# An executable linked with link-time optimisation when DUPLEX_LTO is on.
function(duplex_lto target)
  if(DUPLEX_LTO)
    set_property(TARGET ${target} PROPERTY INTERPROCEDURAL_OPTIMIZATION ON)
  endif()
endfunction()
