/*
 * The capability table entry (a slot) and the capability derivation tree.
 *
 * Each slot holds one cap and the links that place it in the derivation
 * tree: the cap it was made from (parent), the caps made from it (children,
 * a doubly linked sibling list) and nothing else. Copy and mint make the new
 * cap a child of the source; retype makes the new objects' caps children of
 * the untyped's slot. A slot without a parent is a root (caps the kernel made
 * at boot); roots have no siblings.
 *
 * Invariants:
 *  - an empty slot (CAP_NULL) has no links;
 *  - c->parent == p  <=>  c is on p's child list exactly once;
 *  - first_child has no prev_sibling; the list ends with next_sibling NULL;
 *  - a child names the same object as its parent (a copy or a mint), or
 *    lies inside its parent's untyped range (made by retype);
 *  - the badge rule: every child of a badged endpoint or notification cap
 *    carries its badge. Copies keep the badge, a badged cap cannot be
 *    minted, and Mutate sets a badge only on a cap without children
 *    (cnode.c). So the caps with one badge that one Mint (or Mutate) made
 *    form a subtree, the badge family, and deleting its last cap is seen
 *    in O(1): no children, and a parent without the badge.
 *
 * A slot is 64 bytes; a CNode of radix r is 2^r slots. The links are plain
 * pointers: slots never move (move copies a cap to another slot and fixes
 * the links). Only cdt.c changes links; other files read them through the
 * accessors below.
 */
#pragma once

#include "cap.h"
#include "object.h"
#include "types.h"

struct cte;

/* The spare word of a slot. Unused, except in the first two slots of a
 * CNode, which give the CNode its object header and, once its final cap is
 * deleted, its place on the list of CNodes waiting to be emptied (cnode.c).
 * It belongs to the slot, not to the cap: move leaves it in place. */
union cte_spare {
    struct kobj_header header; /* slot 0 of a live CNode */
    uint64_t dead_slots;       /* slot 0 of a dead CNode: how many slots it has */
    struct cte *next_dead;     /* slot 1 of a dead CNode: the next one to empty */
    uint64_t raw;
};

struct cte {
    cap_t cap;
    struct cte *parent;
    struct cte *first_child;
    struct cte *next_sibling;
    struct cte *prev_sibling;
    union cte_spare spare;
};

_Static_assert(sizeof(struct cte) == 1u << CNODE_SLOT_BITS, "a slot is 64 bytes");

static inline struct cte *cte_parent(const struct cte *s)
{
    return s->parent;
}

static inline struct cte *cte_first_child(const struct cte *s)
{
    return s->first_child;
}

static inline struct cte *cte_next_sibling(const struct cte *s)
{
    return s->next_sibling;
}

static inline struct cte *cte_prev_sibling(const struct cte *s)
{
    return s->prev_sibling;
}

static inline bool cte_has_children(const struct cte *s)
{
    return s->first_child != NULL;
}

/* Puts `cap` into the empty, unlinked `slot` and makes it the first child
 * of `parent` (or a root if parent is NULL). */
void cdt_install(struct cte *slot, cap_t cap, struct cte *parent);

/* Takes `slot` out of the tree. Its children take its place in its parent's
 * child list, in their order (if it was a root they become roots). The cap
 * itself is left for the caller to clear. */
void cdt_remove(struct cte *slot);

/* Gives the empty slot `to` the place of `from` in the tree: the parent's
 * list now holds `to` at the same position and every child of `from` names
 * `to` as its parent. `from` is left unlinked; caps are the caller's. */
void cdt_move(struct cte *from, struct cte *to);

/* The first leaf below `slot` following first children, or `slot` itself
 * if it has no children. */
struct cte *cdt_first_leaf(struct cte *slot);

/* The next slot after `s` in a pre-order walk of the subtree rooted at
 * `root` (which the walk starts at), or NULL when the walk is done.
 * Iterative: any depth is fine. The tree must not change during the walk. */
struct cte *cdt_walk_next(const struct cte *root, const struct cte *s);

/* True if `a` is a strict ancestor of `b`. O(depth of b). */
bool cdt_is_ancestor(const struct cte *a, const struct cte *b);
