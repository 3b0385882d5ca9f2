# The Bulkhead side of the IPC benchmark for ${arch} (included from
# tests/qemu/tests.cmake): the bench root task, its boot image, and the
# instruction-ceiling regression test (tools/bench/run.py --check).
bulkhead_user_program(${arch} bench SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/bench.c
                      ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/cpu.c ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/samples.c)
bulkhead_user_program(${arch} server SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/server.c)
# The same server with floating-point work between its replies.
bulkhead_user_program(${arch} server_fpu SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/server.c
                      DEFINES BENCH_SERVER_USES_FPU=1)
bulkhead_boot_image(${arch} bench-image ROOT bench MODULES server server_fpu)
# The multi-core bench (issue 16): IPC on several CPUs, counted per vCPU by
# a QEMU plugin (a host library, built once for both arches) that answers
# the markers of smp_marker.h; the server marks each request it receives.
bulkhead_user_program(${arch} server_mark SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/server.c
                      DEFINES BENCH_SERVER_MARKS=1)
bulkhead_user_program(${arch} bench-smp SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/smp.c
                      ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/smp_isolation.c
                      ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/samples.c)
bulkhead_boot_image(${arch} bench-smp-image ROOT bench-smp MODULES server_mark)
if(NOT TARGET bench-vcpu-insns)
  add_library(bench-vcpu-insns MODULE ${CMAKE_SOURCE_DIR}/tests/bench/plugin/vcpu_insns.c)
  target_compile_options(bench-vcpu-insns PRIVATE -Wall -Wextra -Werror -fvisibility=hidden)
  set_target_properties(bench-vcpu-insns PROPERTIES PREFIX "" OUTPUT_NAME vcpu_insns
                        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench-plugin)
endif()
# The memory server's pager and copy-on-write costs (issue 13): its own
# image, so the IPC rows' root task stays as it was.
bulkhead_user_program(${arch} bench-mem SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/mem.c ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/samples.c
                      CLIENT_OF mem)
bulkhead_boot_image(${arch} bench-mem-image ROOT bench-mem MODULES mem-server)
# One 4 KiB read through the whole IO path (issue 14): the driver and
# io-server behind it, the root task a tenant; run.py attaches a disk.
bulkhead_user_program(${arch} bench-io SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/io.c ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/samples.c
                      ${BLK_FINDER_SOURCES} ${IO_SPAWN_SOURCES} CLIENT_OF io blk)
target_include_directories(bench-io-${arch}-obj PRIVATE ${CMAKE_SOURCE_DIR}/kernel/parse)
bulkhead_boot_image(${arch} bench-io-image ROOT bench-io MODULES blk-server io-server)
# The IO noisy neighbour (issue 14): the root task is the administrator and
# both tenants, victim and flooder; run.py attaches a throttled disk and runs
# it without -icount.
bulkhead_user_program(${arch} bench-noisy SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/noisy.c
                      ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/samples.c
                      ${BLK_FINDER_SOURCES} ${IO_SPAWN_SOURCES} CLIENT_OF io blk)
target_include_directories(bench-noisy-${arch}-obj PRIVATE ${CMAKE_SOURCE_DIR}/kernel/parse)
bulkhead_boot_image(${arch} bench-noisy-image ROOT bench-noisy MODULES blk-server io-server)

# Density (issue 13): tenants spawned through the memory server from one
# program (tests/qemu/mem_spawn_tenant.c) until it refuses, in a 256 MiB guest.
bulkhead_user_program(${arch} bench-density
                      SOURCES ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/density.c
                      ${CMAKE_SOURCE_DIR}/tests/bench/bulkhead/samples.c CLIENT_OF mem)
bulkhead_boot_image(${arch} bench-density-image ROOT bench-density
                    MODULES mem-server mem-spawn-tenant)
add_test(NAME ${arch}/bench-ceilings
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/bench/run.py --arch ${arch}
          --build-dir ${CMAKE_BINARY_DIR} --iterations 1000 --check
          --ceilings ${CMAKE_SOURCE_DIR}/tools/bench/ceilings.json --out-dir ${CMAKE_BINARY_DIR}/bench-check)
set_tests_properties(${arch}/bench-ceilings PROPERTIES LABELS "qemu;${arch};bench" TIMEOUT 300)
# The multi-core rows once, briefly: the bench's markers, its plugin and
# its pairing still work, IPC on two CPUs neither hangs nor loses a
# message, and the same-CPU round trip keeps its ceiling
# (tools/bench/ceilings-smp.json: the median of CPU 0's own count, which
# host time does not reach; the other rows, cross-core and scaling, wait
# for IPIs and other CPUs on host time and have none: docs/smp.md).
add_test(NAME ${arch}/bench-smp
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/bench/run.py --arch ${arch}
          --build-dir ${CMAKE_BINARY_DIR} --iterations 100 --smp-only --smp-cpus 2
          --check --ceilings ${CMAKE_SOURCE_DIR}/tools/bench/ceilings-smp.json
          --out-dir ${CMAKE_BINARY_DIR}/bench-smp-check)
set_tests_properties(${arch}/bench-smp PROPERTIES LABELS "qemu;${arch};bench" TIMEOUT 600)
