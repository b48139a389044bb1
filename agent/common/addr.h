/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Addresses as the maps hold them: text to and from the four-word,
 * network-order form with a BNC_FAMILY_*, and MAC addresses.
 */
#ifndef BOUNCER_ADDR_H
#define BOUNCER_ADDR_H

#include <stddef.h>

#include "bouncer_abi.h"

/* Longest text addr_format() writes, with its terminating NUL. */
#define ADDR_STRLEN 46

/* An IPv4 or IPv6 address without prefix length: 0, or -EINVAL. An IPv4
 * address goes to addr[0], the other words are zeroed.
 */
int addr_parse(const char *s, __be32 addr[4], __u8 *family);
/* Text of an address in buf; returns buf ("?" for an unknown family). */
const char *addr_format(const __be32 addr[4], __u8 family, char *buf, size_t len);
/* Exactly xx:xx:xx:xx:xx:xx, hex digits in either case: 0, or -EINVAL. */
int mac_parse(const char *s, __u8 mac[6]);

#endif /* BOUNCER_ADDR_H */
