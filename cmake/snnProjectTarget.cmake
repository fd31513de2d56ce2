# Internal helper (not installed): settings every target that snn builds for itself gets,
# and that the exported snn::snn INTERFACE target must NOT carry to consumers.
include_guard(GLOBAL)

function(snn_configure_project_target target)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
        message(FATAL_ERROR "snn_configure_project_target: ${target} is an INTERFACE library")
    endif()

    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang|IntelLLVM")
        target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
        if(SNN_WARNINGS_AS_ERRORS)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
        if(SNN_ENABLE_SANITIZERS)
            # -fno-sanitize-recover: a UB report fails the test instead of scrolling by.
            set(san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
            target_compile_options(${target} PRIVATE ${san})
            target_link_options(${target} PRIVATE ${san})
        endif()
    elseif(MSVC)
        target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${SNN_WARNINGS_AS_ERRORS}>:/WX>)
    endif()

    # Object libraries have nothing to link; everything else may spawn threads.
    if(NOT type STREQUAL "OBJECT_LIBRARY")
        target_link_libraries(${target} PRIVATE Threads::Threads)
    endif()
endfunction()
