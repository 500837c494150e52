# Installs the library as a CMake package (find_package(duplex)) and a pkg-config file.
include(CMakePackageConfigHelpers)

get_property(layers GLOBAL PROPERTY DUPLEX_LAYERS)
install(TARGETS ${layers} duplex
        EXPORT duplexTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/duplex ${PROJECT_BINARY_DIR}/include/duplex
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/duplex)
install(EXPORT duplexTargets NAMESPACE duplex:: DESTINATION ${config_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/duplexConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/duplexConfig.cmake
                              INSTALL_DESTINATION ${config_dir})
# 0.x: a newer minor version may break the API, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/duplexConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/duplexConfig.cmake ${PROJECT_BINARY_DIR}/duplexConfigVersion.cmake
        DESTINATION ${config_dir})

# pkg-config: the layers in dependency order, then what they need.
set(pc_libs "")
foreach(layer duplex_client duplex_server duplex_net duplex_ws duplex_http duplex_core)
  string(APPEND pc_libs " -l${layer}")
endforeach()
# Static libraries need their dependencies on every link; shared ones carry them.
if(DUPLEX_SHARED)
  set(pc_requires "Requires.private")
  set(pc_extra "Libs.private: -pthread")
else()
  set(pc_requires "Requires")
  string(APPEND pc_libs " -pthread")
  set(pc_extra "")
endif()
# Relative to the file itself, so that `cmake --install --prefix` anywhere stays right.
file(RELATIVE_PATH pc_up "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
configure_file(${PROJECT_SOURCE_DIR}/cmake/duplex.pc.in ${PROJECT_BINARY_DIR}/duplex.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/duplex.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
