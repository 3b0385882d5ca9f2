# Build functions shared by every architecture. Freestanding images are
# compiled by clang with a per-target --target and linked by calling ld.lld
# directly, so no host or cross GCC driver is ever involved.

set(CMAKE_C_STANDARD 17)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)

set(BULKHEAD_WARNINGS -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter)
set(BULKHEAD_FREESTANDING_CFLAGS -ffreestanding -nostdlibinc -fno-builtin
    -fno-stack-protector -fno-pic -fno-pie -fno-common -fno-omit-frame-pointer
    -ffunction-sections -fdata-sections -O2 -g
    # The RelWithDebInfo preset defines NDEBUG; assert() stays on in our images.
    -UNDEBUG)

execute_process(COMMAND git describe --always --dirty
                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                OUTPUT_VARIABLE BULKHEAD_GIT_DESCRIBE OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT BULKHEAD_GIT_DESCRIBE)
  set(BULKHEAD_GIT_DESCRIBE "unknown")
endif()
set(BULKHEAD_VERSION_STRING "${PROJECT_VERSION}-${BULKHEAD_GIT_DESCRIBE}")

# The ABI description (kernel/abi.toml) generates the constants header shared
# by the kernel and libsys, and each arch's syscall stubs.
function(bulkhead_generate_abi)
  set(abi ${CMAKE_SOURCE_DIR}/kernel/abi.toml)
  set(gen ${CMAKE_SOURCE_DIR}/tools/abigen.py)
  set(outputs ${BULKHEAD_GEN_DIR}/include/bulkhead/abi.h
              ${BULKHEAD_GEN_DIR}/x86_64/bulkhead/syscall_stubs.h
              ${BULKHEAD_GEN_DIR}/riscv64/bulkhead/syscall_stubs.h
              ${BULKHEAD_GEN_DIR}/abi.md)
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${Python3_EXECUTABLE} ${gen} ${abi} ${BULKHEAD_GEN_DIR}
    DEPENDS ${abi} ${gen}
    COMMENT "Generating the ABI from kernel/abi.toml")
  add_custom_target(abi DEPENDS ${outputs})
endfunction()

# A server protocol (docs/servers.md): tools/protogen.py turns the description
# into client stubs, the server's dispatch and a reference chapter, under
# ${BULKHEAD_GEN_DIR}/proto/ (headers in proto/include/protocols/). Programs
# name it with CLIENT_OF or SERVES (bulkhead_user_program). DOC: the checked-in
# copy of the chapter, compared in ctest; GOLDEN: a folder with checked-in
# copies of every generated C file, compared too. Safe to call once per arch.
#   bulkhead_protocol(<name> <protocol.toml> [DOC <file.md>] [GOLDEN <dir>])
function(bulkhead_protocol name toml)
  if(TARGET protocol-${name})
    return()
  endif()
  cmake_parse_arguments(P "" "DOC;GOLDEN" "" ${ARGN})
  set(out ${BULKHEAD_GEN_DIR}/proto)
  set(inc ${out}/include/protocols)
  set(gen ${CMAKE_SOURCE_DIR}/tools/protogen.py)
  set(abi ${CMAKE_SOURCE_DIR}/kernel/abi.toml)
  set(headers ${inc}/${name}.h ${inc}/${name}_client.h ${inc}/${name}_server.h)
  set(sources ${out}/${name}.c ${out}/${name}_client.c ${out}/${name}_server.c)
  add_custom_command(OUTPUT ${headers} ${sources} ${out}/${name}.md
    COMMAND ${Python3_EXECUTABLE} ${gen} --abi ${abi} ${toml} ${out}
    DEPENDS ${toml} ${gen} ${abi}
    COMMENT "Generating the ${name} protocol from ${toml}")
  add_custom_target(protocol-${name} DEPENDS ${headers} ${sources} ${out}/${name}.md)
  set_property(GLOBAL PROPERTY BULKHEAD_PROTOCOL_${name}_CLIENT ${out}/${name}.c ${out}/${name}_client.c)
  set_property(GLOBAL PROPERTY BULKHEAD_PROTOCOL_${name}_SERVER ${out}/${name}.c ${out}/${name}_server.c)
  add_test(NAME proto/${name}/protogen-self-test
    COMMAND ${Python3_EXECUTABLE} ${gen} --abi ${abi} --self-test ${toml})
  set_tests_properties(proto/${name}/protogen-self-test PROPERTIES LABELS host)
  if(P_DOC)
    add_test(NAME proto/${name}/docs-match-protocol-toml
      COMMAND ${CMAKE_COMMAND} -E compare_files ${out}/${name}.md ${P_DOC})
    set_tests_properties(proto/${name}/docs-match-protocol-toml PROPERTIES LABELS host)
  endif()
  if(P_GOLDEN)
    foreach(file IN LISTS headers sources)
      get_filename_component(base ${file} NAME)
      add_test(NAME proto/${name}/golden-${base}
        COMMAND ${CMAKE_COMMAND} -E compare_files ${file} ${P_GOLDEN}/${base})
      set_tests_properties(proto/${name}/golden-${base} PROPERTIES LABELS host)
    endforeach()
  endif()
endfunction()

# Links freestanding objects into an ELF with ld.lld.
#   bulkhead_link(<target> OUTPUT <file> SCRIPT <ld script> OBJECT_LIBS <libs...>)
function(bulkhead_link target)
  cmake_parse_arguments(L "" "OUTPUT;SCRIPT" "OBJECT_LIBS" ${ARGN})
  set(objs)
  foreach(lib IN LISTS L_OBJECT_LIBS)
    list(APPEND objs $<TARGET_OBJECTS:${lib}>)
  endforeach()
  add_custom_command(OUTPUT ${L_OUTPUT}
    COMMAND ${BULKHEAD_LLD} -nostdlib -static --gc-sections -z max-page-size=4096
            -z noexecstack --no-undefined -T ${L_SCRIPT} -o ${L_OUTPUT} ${objs}
    DEPENDS ${L_OBJECT_LIBS} ${objs} ${L_SCRIPT}
    COMMAND_EXPAND_LISTS
    COMMENT "Linking ${L_OUTPUT}")
  add_custom_target(${target} ALL DEPENDS ${L_OUTPUT})
endfunction()

# A user program for `arch`, linked with libsys; CLIENT_OF and SERVES name
# protocols (bulkhead_protocol) whose client stubs or server dispatch it gets.
#   bulkhead_user_program(<arch> <name> SOURCES <files...> [DEFINES <defs...>]
#                         [CLIENT_OF <protocols...>] [SERVES <protocols...>])
# Produces ${CMAKE_BINARY_DIR}/<arch>/<name>.elf and target <name>-<arch>.
function(bulkhead_user_program arch name)
  cmake_parse_arguments(U "" "" "SOURCES;DEFINES;CLIENT_OF;SERVES" ${ARGN})
  set(protocols)
  foreach(side IN ITEMS CLIENT SERVER)
    set(names ${U_CLIENT_OF})
    if(side STREQUAL "SERVER")
      set(names ${U_SERVES})
    endif()
    foreach(p IN LISTS names)
      if(NOT TARGET protocol-${p})
        message(FATAL_ERROR "${name}: no protocol '${p}' (declare it with bulkhead_protocol)")
      endif()
      get_property(files GLOBAL PROPERTY BULKHEAD_PROTOCOL_${p}_${side})
      list(APPEND U_SOURCES ${files})
      list(APPEND protocols protocol-${p})
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES U_SOURCES)
  add_library(${name}-${arch}-obj OBJECT ${U_SOURCES})
  target_compile_options(${name}-${arch}-obj PRIVATE ${BULKHEAD_WARNINGS}
    ${BULKHEAD_FREESTANDING_CFLAGS} ${ARCH_USER_CFLAGS_${arch}})
  target_compile_definitions(${name}-${arch}-obj PRIVATE ${U_DEFINES})
  target_include_directories(${name}-${arch}-obj PRIVATE
    ${CMAKE_SOURCE_DIR}/libsys/include ${BULKHEAD_GEN_DIR}/include ${BULKHEAD_GEN_DIR}/${arch})
  add_dependencies(${name}-${arch}-obj abi ${protocols})
  if(protocols)
    target_include_directories(${name}-${arch}-obj PRIVATE ${BULKHEAD_GEN_DIR}/proto/include)
  endif()
  bulkhead_link(${name}-${arch}
    OUTPUT ${CMAKE_BINARY_DIR}/${arch}/${name}.elf
    SCRIPT ${CMAKE_SOURCE_DIR}/libsys/user.ld
    OBJECT_LIBS ${name}-${arch}-obj libsys-${arch})
endfunction()

# A boot image: the kernel-readable bundle of user programs (tools/mkbootimage.py).
#   bulkhead_boot_image(<arch> <name> ROOT <elf target> [MODULES <elf targets...>])
function(bulkhead_boot_image arch name)
  cmake_parse_arguments(B "" "ROOT" "MODULES" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/${arch}/${name}.img)
  set(args --arch ${arch} --root ${CMAKE_BINARY_DIR}/${arch}/${B_ROOT}.elf)
  set(deps ${B_ROOT}-${arch} ${CMAKE_BINARY_DIR}/${arch}/${B_ROOT}.elf)
  foreach(m IN LISTS B_MODULES)
    list(APPEND args --module ${CMAKE_BINARY_DIR}/${arch}/${m}.elf)
    list(APPEND deps ${m}-${arch} ${CMAKE_BINARY_DIR}/${arch}/${m}.elf)
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/mkbootimage.py ${args} -o ${out}
    DEPENDS ${deps} ${CMAKE_SOURCE_DIR}/tools/mkbootimage.py ${CMAKE_SOURCE_DIR}/tools/bootimage.py
            ${CMAKE_SOURCE_DIR}/kernel/boot/bootimage.h
    COMMENT "Packing boot image ${out}")
  add_custom_target(${name}-${arch} ALL DEPENDS ${out})
endfunction()

# bulkhead_kernel(<arch> <name> <debug>): the kernel for <arch> as
# build/<arch>/<name>.elf (target <name>-<arch>), with BULKHEAD_KERNEL_DEBUG
# set to <debug>. Uses the variables bulkhead_add_arch() set up.
macro(bulkhead_kernel arch name debug)
  add_library(${name}-${arch}-obj OBJECT ${KERNEL_SOURCES} ${ARCH_SOURCES})
  target_compile_options(${name}-${arch}-obj PRIVATE ${BULKHEAD_WARNINGS}
    ${BULKHEAD_FREESTANDING_CFLAGS} ${ARCH_KERNEL_CFLAGS})
  target_compile_definitions(${name}-${arch}-obj PRIVATE
    BULKHEAD_VERSION="${BULKHEAD_VERSION_STRING}"
    BULKHEAD_KERNEL_DEBUG=$<BOOL:${debug}>)
  # A release kernel keeps no frame pointers: nothing in the kernel walks
  # them (a panic prints no backtrace; a debugger unwinds from the DWARF
  # call-frame information -g keeps), and on the general path their save,
  # set-up and restore in every function called were some 3 instructions
  # a call (docs/performance.md, "Frame pointers"). A debug kernel keeps
  # them, for cheap backtraces in a debugger and in perf-style sampling.
  if(NOT ${debug})
    target_compile_options(${name}-${arch}-obj PRIVATE -fomit-frame-pointer)
  endif()
  target_include_directories(${name}-${arch}-obj PRIVATE
    ${CMAKE_SOURCE_DIR}/kernel ${CMAKE_SOURCE_DIR}/kernel/parse ${dir}/include
    ${BULKHEAD_GEN_DIR}/include)
  add_dependencies(${name}-${arch}-obj abi)
  bulkhead_link(${name}-${arch}
    OUTPUT ${CMAKE_BINARY_DIR}/${arch}/${name}.elf
    SCRIPT ${ARCH_KERNEL_LDSCRIPT}
    OBJECT_LIBS ${name}-${arch}-obj)
endmacro()

# Everything for one architecture: kernel, libsys, root task, boot images and
# the QEMU system tests.
function(bulkhead_add_arch arch)
  if(arch STREQUAL "x86_64")
    set(dir ${CMAKE_SOURCE_DIR}/arch/x86_64)
  elseif(arch STREQUAL "riscv64")
    set(dir ${CMAKE_SOURCE_DIR}/arch/riscv)
  else()
    message(FATAL_ERROR "Unknown architecture '${arch}' (known: x86_64 riscv64)")
  endif()
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/${arch})
  # arch.cmake sets ARCH_SOURCES, ARCH_KERNEL_CFLAGS, ARCH_USER_CFLAGS and
  # ARCH_KERNEL_LDSCRIPT for this arch.
  include(${dir}/arch.cmake)
  set(ARCH_USER_CFLAGS_${arch} ${ARCH_USER_CFLAGS} PARENT_SCOPE)
  set(ARCH_USER_CFLAGS_${arch} ${ARCH_USER_CFLAGS})

  include(${CMAKE_SOURCE_DIR}/kernel/sources.cmake)
  bulkhead_kernel(${arch} kernel ${BULKHEAD_KERNEL_DEBUG})
  # The kernel as a release would ship it, without self-tests, the invariant
  # walk and the IPC path counters (kernel/ipc.h): built and booted in every
  # test run, so the code that only the debug switch hides cannot rot unseen
  # (tests/qemu/tests.cmake), and the kernel the benchmark measures
  # (tools/bench/run.py): the counters do not fit RISC-V's fast-path ceiling.
  bulkhead_kernel(${arch} kernel-nodebug OFF)

  include(${CMAKE_SOURCE_DIR}/libsys/sources.cmake)
  add_library(libsys-${arch} OBJECT ${LIBSYS_SOURCES})
  target_compile_options(libsys-${arch} PRIVATE ${BULKHEAD_WARNINGS}
    ${BULKHEAD_FREESTANDING_CFLAGS} ${ARCH_USER_CFLAGS})
  # kernel/parse/ alone of kernel/: the pure parsers libsys shares with it.
  target_include_directories(libsys-${arch} PRIVATE
    ${CMAKE_SOURCE_DIR}/libsys/include ${CMAKE_SOURCE_DIR}/kernel/parse
    ${BULKHEAD_GEN_DIR}/include ${BULKHEAD_GEN_DIR}/${arch})
  add_dependencies(libsys-${arch} abi)

  include(${CMAKE_SOURCE_DIR}/servers/servers.cmake)
  include(${CMAKE_SOURCE_DIR}/tests/qemu/tests.cmake)
endfunction()
