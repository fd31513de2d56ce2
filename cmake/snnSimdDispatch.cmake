#[=======================================================================[.rst:
snnSimdDispatch
---------------

Builds the CPU kernels of snn once per instruction set and registers them for runtime
dispatch. Shipped with the installed package (``find_package(snn)`` includes it), so
projects that use snn can call it as well.

.. command:: snn_add_simd_dispatch

  ::

    snn_add_simd_dispatch(<target> ISAS <isa>...)

  Adds to ``<target>`` (an existing library or executable, through ``target_sources``
  ``PRIVATE``), for every requested instruction set ``<isa>``, one generated source
  ``snn_dispatch_<isa>.cpp`` containing exactly::

    #define SNN_DISPATCH_ISA <isa>
    #include <snn/cpu/dispatch_instantiate.ipp>

  compiled with that instruction set's flags (and only that source gets them), plus one
  ``snn_dispatch_registry.cpp`` that defines ``snn::cpu::registered_isas()``: the list of
  compiled instruction sets, best first, which ``snn/cpu/dispatch.hpp`` consults at run time
  to pick the best one the running processor supports. ``<target>`` is linked (``PUBLIC``)
  to ``snn::snn``, so it must use the keyword form of ``target_link_libraries``.

  Instruction sets and the GCC/Clang flags they are compiled with:

  ============  =================================================================
  ``avx512``    ``-mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl -mfma``
  ``avx2``      ``-mavx2 -mfma``
  ``avx``       ``-mavx``
  ``sse4_2``    ``-msse4.2``
  ``sse2``      ``-msse2``
  ``neon64``    (none: the AArch64 baseline)
  ``scalar``    (none; always added, even when not listed, as the last resort)
  ============  =================================================================

  An instruction set is skipped, with a status message, when it does not belong to the
  target processor (``CMAKE_SYSTEM_PROCESSOR``: the x86 ones on x86/x86-64 only, ``neon64``
  on AArch64 only), when the compiler rejects one of its flags, or when the compiler is not
  GCC-compatible. The instruction sets actually compiled are stored, best first, in the
  target property ``SNN_DISPATCH_ISAS``.

  Call it at most once per target, and link at most one such target into a program: the
  registry and the per-ISA kernel tables are ordinary global symbols.

  Example::

    find_package(snn CONFIG REQUIRED)
    add_library(my_kernels STATIC)
    snn_add_simd_dispatch(my_kernels ISAS sse2 avx2 avx512 neon64)
    target_link_libraries(my_app PRIVATE my_kernels)
#]=======================================================================]

include_guard(GLOBAL)
# Not cmake_minimum_required(): that would reset the policies of whoever includes this file.
if(CMAKE_VERSION VERSION_LESS 3.18)  # file(CONFIGURE), set_source_files_properties(TARGET_DIRECTORY)
    message(FATAL_ERROR "snnSimdDispatch.cmake needs CMake 3.18 or newer (have ${CMAKE_VERSION})")
endif()
include(CheckCXXCompilerFlag)

# The tables live in functions, not variables: a function defined here is global, but
# variables set here would be invisible from other directories (add_subdirectory(snn)).

# Every known instruction set, best first: this is also the order of the registry.
function(_snn_dispatch_known_isas out_var)
    set(${out_var} avx512 avx2 avx sse4_2 sse2 neon64 scalar PARENT_SCOPE)
endfunction()

# The compiler flags (GCC/Clang) that select <isa>.
function(_snn_dispatch_isa_flags isa out_var)
    if(isa STREQUAL "avx512")
        set(flags -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl -mfma)
    elseif(isa STREQUAL "avx2")
        set(flags -mavx2 -mfma)
    elseif(isa STREQUAL "avx")
        set(flags -mavx)
    elseif(isa STREQUAL "sse4_2")
        set(flags -msse4.2)
    elseif(isa STREQUAL "sse2")
        set(flags -msse2)
    else()  # scalar, neon64 (the AArch64 baseline)
        set(flags "")
    endif()
    set(${out_var} "${flags}" PARENT_SCOPE)
endfunction()

# Sets <out_var> to TRUE when <isa> can be compiled for this target, FALSE (with a message
# explaining why) otherwise.
function(_snn_dispatch_isa_usable isa out_var)
    set(${out_var} FALSE PARENT_SCOPE)
    if(isa STREQUAL "scalar")
        set(${out_var} TRUE PARENT_SCOPE)
        return()
    endif()

    if(isa STREQUAL "neon64")
        if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
            message(STATUS "snn dispatch: skipping ${isa}: target processor is '${CMAKE_SYSTEM_PROCESSOR}', not AArch64")
            return()
        endif()
        set(${out_var} TRUE PARENT_SCOPE)
        return()
    endif()

    # The remaining ones are x86 instruction sets selected with GCC-style -m flags.
    if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^([xX]86_64|AMD64|amd64|[xX]64|i[3-6]86|[xX]86)$")
        message(STATUS "snn dispatch: skipping ${isa}: target processor is '${CMAKE_SYSTEM_PROCESSOR}', not x86")
        return()
    endif()
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang|IntelLLVM"
       OR CMAKE_CXX_COMPILER_FRONTEND_VARIANT STREQUAL "MSVC")
        message(STATUS "snn dispatch: skipping ${isa}: only GCC-compatible compilers are supported (have ${CMAKE_CXX_COMPILER_ID})")
        return()
    endif()
    _snn_dispatch_isa_flags(${isa} flags)
    foreach(flag IN LISTS flags)
        string(MAKE_C_IDENTIFIER "SNN_CXX_ACCEPTS${flag}" result_var)
        check_cxx_compiler_flag("${flag}" ${result_var})
        if(NOT ${result_var})
            message(STATUS "snn dispatch: skipping ${isa}: the compiler rejects ${flag}")
            return()
        endif()
    endforeach()
    set(${out_var} TRUE PARENT_SCOPE)
endfunction()

function(snn_add_simd_dispatch target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ISAS")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "snn_add_simd_dispatch: unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT TARGET ${target})
        message(FATAL_ERROR "snn_add_simd_dispatch: '${target}' is not a target; create it first (add_library(${target} STATIC) is enough)")
    endif()
    get_target_property(already ${target} SNN_DISPATCH_ISAS)
    if(already)
        message(FATAL_ERROR "snn_add_simd_dispatch: already called for '${target}'")
    endif()
    if(NOT TARGET snn::snn)
        message(FATAL_ERROR "snn_add_simd_dispatch: target snn::snn not found; call find_package(snn) or add_subdirectory(snn) first")
    endif()

    _snn_dispatch_known_isas(known_isas)
    foreach(isa IN LISTS arg_ISAS)
        if(NOT isa IN_LIST known_isas)
            string(REPLACE ";" ", " known "${known_isas}")
            message(FATAL_ERROR "snn_add_simd_dispatch: unknown ISA '${isa}' (known: ${known})")
        endif()
    endforeach()

    # Keep the requested ones (scalar always) in best-first order, dropping unusable ones.
    set(isas "")
    foreach(isa IN LISTS known_isas)
        if(isa IN_LIST arg_ISAS OR isa STREQUAL "scalar")
            _snn_dispatch_isa_usable(${isa} usable)
            if(usable)
                list(APPEND isas ${isa})
            endif()
        endif()
    endforeach()

    # One directory per target, so several targets (in one or several projects) never share
    # generated files.
    set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/snn_dispatch/${target}")
    set(declarations "")
    set(entries "")
    foreach(isa IN LISTS isas)
        set(source "${gen_dir}/snn_dispatch_${isa}.cpp")
        # file(CONFIGURE) rewrites the file only when its content changes: no needless rebuilds.
        file(CONFIGURE OUTPUT "${source}"
             CONTENT "#define SNN_DISPATCH_ISA ${isa}\n#include <snn/cpu/dispatch_instantiate.ipp>\n")
        # Source properties are per directory; TARGET_DIRECTORY puts them where <target> was
        # created, which need not be the calling directory. The per-ISA flags must not leak
        # into other sources through a unity build or a precompiled header.
        _snn_dispatch_isa_flags(${isa} flags)
        # GCC 12's own avx512fintrin.h trips -Wuninitialized (its _mm512_undefined_* helpers,
        # GCC bug 105593, fixed in GCC 13). The same templates are still checked for that
        # warning in the other ISA sources.
        if(isa STREQUAL "avx512" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
           AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
            list(APPEND flags -Wno-uninitialized -Wno-maybe-uninitialized)
        endif()
        set_source_files_properties("${source}" TARGET_DIRECTORY ${target} PROPERTIES
            COMPILE_OPTIONS "${flags}"
            SKIP_UNITY_BUILD_INCLUSION ON
            SKIP_PRECOMPILE_HEADERS ON)
        target_sources(${target} PRIVATE "${source}")

        string(APPEND declarations
            "const snn::cpu::kernel_table& snn_cpu_kernel_table_${isa}();\n"
            "bool snn_cpu_isa_available_${isa}();\n")
        string(APPEND entries
            "        {\"${isa}\", &snn_cpu_isa_available_${isa}, &snn_cpu_kernel_table_${isa}},\n")
    endforeach()

    set(registry "${gen_dir}/snn_dispatch_registry.cpp")
    file(CONFIGURE OUTPUT "${registry}" @ONLY CONTENT [[
// Generated by snn_add_simd_dispatch(); do not edit.
#include <snn/cpu/dispatch.hpp>

#include <cstddef>

@declarations@
namespace snn { namespace cpu {

const isa_entry* registered_isas(std::size_t& count) {
    static const isa_entry entries[] = {  // best ISA first
@entries@    };
    count = sizeof(entries) / sizeof(entries[0]);
    return entries;
}

} }  // namespace snn::cpu
]])
    set_source_files_properties("${registry}" TARGET_DIRECTORY ${target} PROPERTIES
        SKIP_UNITY_BUILD_INCLUSION ON)
    target_sources(${target} PRIVATE "${registry}")

    target_link_libraries(${target} PUBLIC snn::snn)
    set_property(TARGET ${target} PROPERTY SNN_DISPATCH_ISAS "${isas}")
    string(REPLACE ";" " " isa_text "${isas}")
    message(STATUS "snn dispatch: ${target}: ${isa_text}")
endfunction()
