# User-level servers and the root task for ${arch} (included from
# bulkhead_add_arch()).
# The scheduler server (servers/sched, docs/scheduling.md): its protocol is
# described once in protocol.toml; the chapter docs/protocols/sched.md and
# the goldens of the generated C are compared in ctest.
bulkhead_protocol(sched ${CMAKE_SOURCE_DIR}/servers/sched/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/sched.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/sched)
bulkhead_user_program(${arch} sched-server SOURCES ${CMAKE_SOURCE_DIR}/servers/sched/main.c
                      ${CMAKE_SOURCE_DIR}/servers/sched/policy.c
                      ${CMAKE_SOURCE_DIR}/servers/sched/threads.c
                      ${CMAKE_SOURCE_DIR}/servers/sched/usage.c SERVES sched)

# The memory server (servers/mem, docs/memory.md): accounts with quotas and
# a pager for anonymous regions; its protocol, like the scheduler server's,
# is described once and its chapter and generated C are compared in ctest.
bulkhead_protocol(mem ${CMAKE_SOURCE_DIR}/servers/mem/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/mem.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/mem)
# mem-server is defined below io, whose client it is (its swap session).

# The virtio-blk driver (servers/blk, docs/io.md): its protocol, described
# once, and the driver, blk-server, a process of its own. BLK_FINDER_SOURCES
# are the other side, linked into whoever finds the disk and starts the
# driver (today tests/qemu/blk_test.c).
bulkhead_protocol(blk ${CMAKE_SOURCE_DIR}/servers/blk/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/blk.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/blk)
bulkhead_user_program(${arch} blk-server SOURCES ${CMAKE_SOURCE_DIR}/servers/blk/main.c
                      ${CMAKE_SOURCE_DIR}/servers/blk/virtio.c
                      ${CMAKE_SOURCE_DIR}/servers/blk/server.c SERVES blk)
target_include_directories(blk-server-${arch}-obj PRIVATE ${CMAKE_SOURCE_DIR}/servers/blk)
set(BLK_FINDER_SOURCES ${CMAKE_SOURCE_DIR}/servers/blk/devmem.c
    ${CMAKE_SOURCE_DIR}/servers/blk/discover.c ${CMAKE_SOURCE_DIR}/servers/blk/pci.c
    ${CMAKE_SOURCE_DIR}/servers/blk/spawn.c
    ${CMAKE_SOURCE_DIR}/kernel/parse/fdt.c ${CMAKE_SOURCE_DIR}/kernel/parse/acpi.c)

# The IO server (servers/io, docs/io.md): its scheduler (iosched.c, also
# built for the host tests), the tenants' sessions and the driver behind
# them (a client of the blk protocol). IO_SPAWN_SOURCES is the other side,
# linked into whoever starts it (today tests/qemu/io_session.c).
bulkhead_protocol(io ${CMAKE_SOURCE_DIR}/servers/io/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/io.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/io)
bulkhead_user_program(${arch} io-server SOURCES ${CMAKE_SOURCE_DIR}/servers/io/main.c
                      ${CMAKE_SOURCE_DIR}/servers/io/iosched.c
                      ${CMAKE_SOURCE_DIR}/servers/io/iodepth.c
                      ${CMAKE_SOURCE_DIR}/servers/io/session.c
                      ${CMAKE_SOURCE_DIR}/servers/io/backend.c
                      ${CMAKE_SOURCE_DIR}/servers/io/timer.c
                      ${CMAKE_SOURCE_DIR}/servers/io/watchdog.c SERVES io CLIENT_OF blk mem)
set(IO_SPAWN_SOURCES ${CMAKE_SOURCE_DIR}/servers/io/spawn.c)

# The memory server: its swap area is an IO session of its own (evict.c,
# swap.c, docs/memory.md "Oversubscription").
bulkhead_user_program(${arch} mem-server SOURCES ${CMAKE_SOURCE_DIR}/servers/mem/main.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/units.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/accounts.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/pages.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/images.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/programs.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/spawn.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/make.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/grants.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/swap.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/evict.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/account.c SERVES mem CLIENT_OF io)
# SealProgram reads ELF files with the tree's one parser (in libsys).
target_include_directories(mem-server-${arch}-obj PRIVATE ${CMAKE_SOURCE_DIR}/kernel/parse)

# The tenant manager (servers/tenants, docs/tenants.md): tenants created,
# listed, changed and killed at run time through the memory server, as a
# protocol and as a console on the serial line.
bulkhead_protocol(tenants ${CMAKE_SOURCE_DIR}/servers/tenants/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/tenants.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/tenants)
bulkhead_user_program(${arch} tenants-server SOURCES ${CMAKE_SOURCE_DIR}/servers/tenants/main.c
                      ${CMAKE_SOURCE_DIR}/servers/tenants/console.c
                      ${CMAKE_SOURCE_DIR}/servers/tenants/io.c
                      ${CMAKE_SOURCE_DIR}/servers/tenants/sched.c SERVES tenants
                      CLIENT_OF mem io sched)

# The root task (after the protocols it is a client of: it makes the
# administrator's set-up calls of a table): its checks, and the system of a capability table when the
# boot image holds one (servers/roottask/captable.h, docs/policy.md).
bulkhead_user_program(${arch} roottask SOURCES ${CMAKE_SOURCE_DIR}/servers/roottask/main.c
                      ${CMAKE_SOURCE_DIR}/servers/roottask/table.c
                      ${CMAKE_SOURCE_DIR}/servers/roottask/system.c
                      ${CMAKE_SOURCE_DIR}/servers/roottask/supervise.c
                      ${CMAKE_SOURCE_DIR}/servers/roottask/wait.c
                      ${CMAKE_SOURCE_DIR}/servers/roottask/manager.c ${BLK_FINDER_SOURCES}
                      CLIENT_OF mem sched tenants io)
target_include_directories(roottask-${arch}-obj PRIVATE ${CMAKE_SOURCE_DIR}/kernel/parse)

# The demo policy's programs (servers/demo, policies/demo.toml): its two
# tenants, one source, and a stand-in server that answers with the caller's
# badge (for policies whose servers are no real program).
foreach(tenant web db)
  bulkhead_user_program(${arch} ${tenant} SOURCES ${CMAKE_SOURCE_DIR}/servers/demo/tenant.c
                        ${CMAKE_SOURCE_DIR}/servers/demo/component.c CLIENT_OF mem sched io)
endforeach()
bulkhead_user_program(${arch} badge-echo SOURCES ${CMAKE_SOURCE_DIR}/servers/demo/badge_echo.c
                      ${CMAKE_SOURCE_DIR}/servers/demo/component.c)

# The demo image holds the root task alone (the bad-image tests corrupt its
# one module); the scheduler server ships in the images that use it
# (tests/qemu/tests.cmake: sched-server-image).
bulkhead_boot_image(${arch} bootimage ROOT roottask)

# bulkhead_policy_image(<arch> <name> POLICY <file> PROGRAMS <p...> [CORRUPT <kind>]):
# the boot image of a system policy, build/<arch>/<name>.img, with its
# capability table as the module "captable" (tools/captable.py) and its
# JSON beside it (<name>.captable.json); PROGRAMS are the user programs the
# policy names, built before it.
function(bulkhead_policy_image arch name)
  cmake_parse_arguments(P "" "POLICY;CORRUPT" "PROGRAMS" ${ARGN})
  set(img ${CMAKE_BINARY_DIR}/${arch}/${name}.img)
  set(args image ${P_POLICY} --arch ${arch} --build-dir ${CMAKE_BINARY_DIR}/${arch} -o ${img})
  if(P_CORRUPT)
    list(APPEND args --corrupt ${P_CORRUPT})
  endif()
  set(deps roottask-${arch} ${CMAKE_BINARY_DIR}/${arch}/roottask.elf)
  foreach(p IN LISTS P_PROGRAMS)
    list(APPEND deps ${p}-${arch} ${CMAKE_BINARY_DIR}/${arch}/${p}.elf)
  endforeach()
  add_custom_command(OUTPUT ${img} ${CMAKE_BINARY_DIR}/${arch}/${name}.captable.json
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tools/captable.py ${args}
    DEPENDS ${deps} ${P_POLICY} ${CMAKE_SOURCE_DIR}/tools/captable.py
            ${CMAKE_SOURCE_DIR}/tools/policy.py ${CMAKE_SOURCE_DIR}/tools/policytoml.py
            ${CMAKE_SOURCE_DIR}/tools/bootimage.py ${CMAKE_SOURCE_DIR}/servers/roottask/captable.h
            ${CMAKE_SOURCE_DIR}/kernel/abi.toml
    COMMENT "Building the boot image of ${P_POLICY}: ${img}")
  add_custom_target(${name}-${arch} ALL DEPENDS ${img})
endfunction()

# The demo system, built from policies/demo.toml (tools/bulkhead run
# policies/demo.toml boots the same).
# tenant-worker (tests/qemu/tenant_worker.c) is the program the tenant
# manager may spawn (its `programs`).
set(DEMO_POLICY_PROGRAMS mem-server sched-server tenants-server io-server blk-server web db
    tenant-worker)
bulkhead_policy_image(${arch} policy-demo POLICY ${CMAKE_SOURCE_DIR}/policies/demo.toml
                      PROGRAMS ${DEMO_POLICY_PROGRAMS})
