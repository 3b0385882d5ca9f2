/*
 * Forced into test_fdt_oracle and the copy of kernel/parse/fdt.c it links:
 * our parser's functions get a prefix, so that libfdt (which has functions
 * of the same names and calls them internally) keeps its own.
 */
#pragma once

#define fdt_address_cells bk_fdt_address_cells
#define fdt_find_compatible bk_fdt_find_compatible
#define fdt_find_path bk_fdt_find_path
#define fdt_first_child bk_fdt_first_child
#define fdt_get_prop bk_fdt_get_prop
#define fdt_get_string bk_fdt_get_string
#define fdt_get_u32 bk_fdt_get_u32
#define fdt_get_u64 bk_fdt_get_u64
#define fdt_is_compatible bk_fdt_is_compatible
#define fdt_next_node bk_fdt_next_node
#define fdt_next_sibling bk_fdt_next_sibling
#define fdt_node_enabled bk_fdt_node_enabled
#define fdt_node_name bk_fdt_node_name
#define fdt_open bk_fdt_open
#define fdt_parent bk_fdt_parent
#define fdt_read_reg bk_fdt_read_reg
#define fdt_reg bk_fdt_reg
#define fdt_rsvmap_entry bk_fdt_rsvmap_entry
#define fdt_size_cells bk_fdt_size_cells
#define fdt_stdout_node bk_fdt_stdout_node
