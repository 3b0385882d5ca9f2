# User-level servers and the root task for ${arch} (included from
# bulkhead_add_arch()).
bulkhead_user_program(${arch} roottask SOURCES ${CMAKE_SOURCE_DIR}/servers/roottask/main.c)

# The scheduler server (servers/sched, docs/scheduling.md): its protocol is
# described once in protocol.toml; the chapter docs/protocols/sched.md and
# the goldens of the generated C are compared in ctest.
bulkhead_protocol(sched ${CMAKE_SOURCE_DIR}/servers/sched/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/sched.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/sched)
bulkhead_user_program(${arch} sched-server SOURCES ${CMAKE_SOURCE_DIR}/servers/sched/main.c
                      ${CMAKE_SOURCE_DIR}/servers/sched/policy.c
                      ${CMAKE_SOURCE_DIR}/servers/sched/threads.c SERVES sched)

# The memory server (servers/mem, docs/memory.md): accounts with quotas and
# a pager for anonymous regions; its protocol, like the scheduler server's,
# is described once and its chapter and generated C are compared in ctest.
bulkhead_protocol(mem ${CMAKE_SOURCE_DIR}/servers/mem/protocol.toml
                  DOC ${CMAKE_SOURCE_DIR}/docs/protocols/mem.md
                  GOLDEN ${CMAKE_SOURCE_DIR}/tests/golden/protocols/mem)
bulkhead_user_program(${arch} mem-server SOURCES ${CMAKE_SOURCE_DIR}/servers/mem/main.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/units.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/pages.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/images.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/programs.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/spawn.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/grants.c
                      ${CMAKE_SOURCE_DIR}/servers/mem/account.c SERVES mem)
# SealProgram reads ELF files with the tree's one parser (in libsys).
target_include_directories(mem-server-${arch}-obj PRIVATE ${CMAKE_SOURCE_DIR}/kernel/parse)

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
                      ${CMAKE_SOURCE_DIR}/servers/io/session.c
                      ${CMAKE_SOURCE_DIR}/servers/io/backend.c
                      ${CMAKE_SOURCE_DIR}/servers/io/timer.c SERVES io CLIENT_OF blk mem)
set(IO_SPAWN_SOURCES ${CMAKE_SOURCE_DIR}/servers/io/spawn.c)

# The demo image holds the root task alone (the bad-image tests corrupt its
# one module); the scheduler server ships in the images that use it
# (tests/qemu/tests.cmake: sched-server-image).
bulkhead_boot_image(${arch} bootimage ROOT roottask)
