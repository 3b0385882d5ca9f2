/*
 * The process layer's lock (libsys-internal): slots.c and alloc.c take it
 * around their bookkeeping. It is whatever the runtime installed with
 * bk_objects_set_lock() (libsys's re-entrant runtime lock), so this layer
 * needs nothing from the runtime above it. Names of libsys's internal
 * functions that must be global start with bk__, out of programs' way.
 */
#pragma once

void bk__objects_lock(void);
void bk__objects_unlock(void);

/* The arena bk_alloc_object() takes from (arena.c), or NULL for the shared
 * pool; select returns the one it replaces. Only under the lock above. */
struct bk_arena;
struct bk_arena *bk__arena_select(struct bk_arena *a);
struct bk_arena *bk__arena_selected(void);
