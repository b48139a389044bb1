// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The floor for benchmarks: the cheapest program that still transmits. Every
 * datapath figure is reported as a ratio to this one, measured in the same
 * process, because the machine's speed varies from run to run.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int floor_xdp(struct xdp_md *ctx)
{
	return XDP_TX;
}
