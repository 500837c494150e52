# Declares one layer of the library: a static library whose public headers live in
# include/duplex/<layer>/ and which links only to the layers it names.
function(duplex_layer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  add_library(duplex::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS} PRIVATE duplex_warnings ${ARG_PRIVATE_DEPENDS})
endfunction()
