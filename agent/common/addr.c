// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Address parsing and formatting for the map API's users. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

int addr_parse(const char *s, __be32 addr[4], __u8 *family)
{
	struct in6_addr in6;
	struct in_addr in4;

	memset(addr, 0, 4 * sizeof(addr[0]));
	if (inet_pton(AF_INET, s, &in4) == 1) {
		addr[0] = in4.s_addr;
		*family = BNC_FAMILY_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6) == 1) {
		memcpy(addr, &in6, sizeof(in6));
		*family = BNC_FAMILY_IPV6;
		return 0;
	}
	return -EINVAL;
}

const char *addr_format(const __be32 addr[4], __u8 family, char *buf, size_t len)
{
	int af = family == BNC_FAMILY_IPV4 ? AF_INET : AF_INET6;

	if ((family != BNC_FAMILY_IPV4 && family != BNC_FAMILY_IPV6) ||
	    !inet_ntop(af, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, __u8 mac[6])
{
	for (int i = 0; i < 6; i++, s += 3) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (__u8)(hi << 4 | lo);
	}
	return 0;
}
