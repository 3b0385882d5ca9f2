/*
 * The capability table entry (a slot) and the capability derivation tree.
 *
 * Each slot holds one cap and the links that place it in the derivation
 * tree: the cap it was made from (parent), the caps made from it (children,
 * a sibling list) and nothing else. Copy and mint make the new cap a child
 * of the source; retype makes the new objects' caps children of the
 * untyped's slot. A slot on no child list is a root (caps the kernel made
 * at boot); roots have no siblings.
 *
 * Every operation a tenant drives on one slot is O(1), however many
 * children the slot has (a client can splice thousands of copies under a
 * server's cap by deleting the cap it copied them from, issue 10). So the
 * links are stored sparsely:
 *  - a child list is a circular doubly linked list: the last child's
 *    next_sibling is the first child, the first child's prev_sibling the
 *    last one (an only child points at itself both ways);
 *  - only the FIRST child stores its parent; the others have parent NULL.
 *    Hence "s is a first child" is s->parent != NULL, "s is the last
 *    child" is s->next_sibling->parent != NULL, and a run of children can
 *    be spliced into another list, or a slot moved, without touching the
 *    children in between.
 * Circular both ways, not only backwards: were the last child's
 * next_sibling NULL, removing the last child would have to find the first
 * (to update its link to the last) by walking the whole list.
 * The accessors below give the old meaning: cte_next_sibling() is NULL for
 * the last child, cte_prev_sibling() NULL for the first, and cte_parent()
 * finds the parent of any child by walking back to the first sibling:
 * O(position in the list). The kernel calls it only on an only child (the
 * badge-family test in cnode.c), where it is O(1); cdt_walk_next() finds
 * a last child's parent through the first in O(1). The invariant checker
 * and tests may use it freely.
 *
 * Invariants:
 *  - an empty slot (CAP_NULL) has no links;
 *  - a root has no links but first_child; a child has both sibling links;
 *  - p->first_child == c  <=>  c->parent == p;
 *  - s->next_sibling->prev_sibling == s and s->prev_sibling->next_sibling
 *    == s for every child s; following next_sibling from a first child
 *    comes back to it, meeting no other slot with a parent;
 *  - a child names the same object as its parent (a copy or a mint), or
 *    lies inside its parent's untyped range (made by retype);
 *  - the badge rule: every child of a badged endpoint or notification cap
 *    carries its badge. Copies keep the badge, a badged cap cannot be
 *    minted, and Mutate sets a badge only on a cap without children
 *    (cnode.c). So the caps with one badge that one Mint (or Mutate) made
 *    form a subtree, the badge family; when its root is deleted, its
 *    children take its place side by side, so the members of a family
 *    that are siblings are always adjacent (installs only ever go to the
 *    head of a list, and splices replace one slot by a run). cnode.c's
 *    ends_badge_family() relies on this to see the last cap of a family
 *    go in O(1): no children, no adjacent sibling with the badge, and, for
 *    an only child, a parent without it.
 *
 * A slot is 64 bytes; a CNode of radix r is 2^r slots. The links are plain
 * pointers: slots never move (move copies a cap to another slot and fixes
 * the links of its neighbours, its first child and its parent). Only cdt.c
 * changes links; other files read them through the accessors below
 * (debug/invariants.c checks the raw fields).
 */
#pragma once

#include "cap.h"
#include "object.h"
#include "types.h"

struct cte;

/* The spare word of a slot. Unused, except in the first two slots of a
 * CNode, which give the CNode its object header and, once its final cap is
 * deleted, hold its zombie's links in a chain of zombies (cnode.c). It
 * belongs to the slot, not to the cap: move leaves it in place. */
union cte_spare {
    struct kobj_header header;   /* slot 0 of a live CNode */
    struct cte *zombie_below;    /* slot 0 of a zombie's table: the zombie below, or the top slot */
    uint64_t zombie_link;        /* slot 1 of a zombie's table: see zombie_link_top() */
    uint64_t raw;
};

/* Slot 1's word in a zombie's table: the slot of the zombie just above it
 * in its chain, or, tagged, in the top zombie's, the slot of the bottom
 * one (cnode.c, Chains). Slots are 64-byte aligned: bit 0 is free. */
#define ZOMBIE_LINK_TOP 1ull

static inline uint64_t zombie_link_above(const struct cte *above)
{
    return (uint64_t)(uintptr_t)above;
}

static inline uint64_t zombie_link_top(const struct cte *bottom)
{
    return (uint64_t)(uintptr_t)bottom | ZOMBIE_LINK_TOP;
}

static inline bool zombie_link_is_top(uint64_t link)
{
    return link & ZOMBIE_LINK_TOP;
}

static inline struct cte *zombie_link_slot(uint64_t link)
{
    return (struct cte *)(uintptr_t)(link & ~ZOMBIE_LINK_TOP);
}

struct cte {
    cap_t cap;
    struct cte *parent;
    struct cte *first_child;
    struct cte *next_sibling;
    struct cte *prev_sibling;
    union cte_spare spare;
};

_Static_assert(sizeof(struct cte) == 1u << CNODE_SLOT_BITS, "a slot is 64 bytes");

/* True if `s` is the first of its parent's children (the one slot of the
 * list that stores the parent). */
static inline bool cte_is_first_child(const struct cte *s)
{
    return s->parent != NULL;
}

/* True if `s` is a child and the last of its list. */
static inline bool cte_is_last_child(const struct cte *s)
{
    return s->next_sibling && s->next_sibling->parent != NULL;
}

/* The parent of `s` (NULL for a root). O(position of s among its
 * siblings): it walks back to the first child, which stores the parent. */
static inline struct cte *cte_parent(const struct cte *s)
{
    while (!s->parent && s->prev_sibling)
        s = s->prev_sibling;
    return s->parent;
}

static inline struct cte *cte_first_child(const struct cte *s)
{
    return s->first_child;
}

/* The next sibling, NULL after the last. */
static inline struct cte *cte_next_sibling(const struct cte *s)
{
    return cte_is_last_child(s) ? NULL : s->next_sibling;
}

/* The previous sibling, NULL before the first. */
static inline struct cte *cte_prev_sibling(const struct cte *s)
{
    return s->parent ? NULL : s->prev_sibling;
}

static inline bool cte_has_children(const struct cte *s)
{
    return s->first_child != NULL;
}

/* Puts `cap` into the empty, unlinked `slot` and makes it the first child
 * of `parent` (or a root if parent is NULL). */
void cdt_install(struct cte *slot, cap_t cap, struct cte *parent);

/* Takes `slot` out of the tree. Its children take its place in its parent's
 * child list, in their order, in O(1) (if it was a root they become roots,
 * one step each: only boot caps are roots). The cap itself is left for the
 * caller to clear. */
void cdt_remove(struct cte *slot);

/* Gives the empty slot `to` the place of `from` in the tree, in O(1): the
 * parent's list now holds `to` at the same position and the children of
 * `from` are those of `to`. `from` is left unlinked; caps are the
 * caller's. */
void cdt_move(struct cte *from, struct cte *to);

/* The first leaf below `slot` following first children, or `slot` itself
 * if it has no children. */
struct cte *cdt_first_leaf(struct cte *slot);

/* The next slot after `s` in a pre-order walk of the subtree rooted at
 * `root` (which the walk starts at), or NULL when the walk is done.
 * Iterative: any depth is fine. The tree must not change during the walk.
 * A step is O(1) per level it climbs (a last child finds its parent
 * through the first), so a whole walk is O(n). */
struct cte *cdt_walk_next(const struct cte *root, const struct cte *s);

/* True if `a` is a strict ancestor of `b`. O(the sum, over b and its
 * ancestors, of their positions among their siblings); not for paths a
 * tenant drives. */
bool cdt_is_ancestor(const struct cte *a, const struct cte *b);
