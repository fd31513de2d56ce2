# ctest fixture for consumer.installed: installs the snn build BUILD_DIR into PREFIX.
#   cmake -DBUILD_DIR=<build> -DPREFIX=<prefix> [-DCONFIG=<config>] -P stage_install.cmake
cmake_minimum_required(VERSION 3.21)
foreach(var BUILD_DIR PREFIX)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "stage_install.cmake: -D${var}=... is required")
    endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
set(config_args "")
if(CONFIG)
    set(config_args --config "${CONFIG}")
endif()
execute_process(
    COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args}
    COMMAND_ERROR_IS_FATAL ANY)
if(NOT EXISTS "${PREFIX}/lib/cmake/snn/snnConfig.cmake"
   AND NOT EXISTS "${PREFIX}/lib64/cmake/snn/snnConfig.cmake")
    file(GLOB_RECURSE found "${PREFIX}/*/snnConfig.cmake")
    if(NOT found)
        message(FATAL_ERROR "stage_install.cmake: no snnConfig.cmake under ${PREFIX}")
    endif()
endif()
