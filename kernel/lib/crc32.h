/*
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum the
 * boot image uses for its header, module table and every module, so a
 * corrupt image is caught before any of it is trusted.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

uint32_t crc32(const void *data, size_t len);
