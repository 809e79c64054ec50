/*
 * npu-cosim: the co-simulated lwnpu PCIe card (rtl-sim/cosim, docs/PCIE.md
 * "npu-cosim"). Serves the card on a Unix socket until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtl-sim/cosim/cosim.h"

#define EXIT_USAGE 2

static const char usage_text[] =
        "usage: npu-cosim --socket PATH [--mem-size SIZE] [--config default|small]\n"
        "                 [--kill-after-cycles N] [--quiet]\n"
        "\n"
        "Serve a co-simulated lwnpu PCIe card. The card is the Verilated NPU behind\n"
        "the card's host interface (driver/npu_card.h), served as an ivshmem server\n"
        "on the Unix socket PATH. Its client is QEMU's ivshmem-doorbell device\n"
        "(-chardev socket,path=PATH,id=c -device ivshmem-doorbell,chardev=c,vectors=2),\n"
        "which a guest drives with the vfio or uio backend, or the cosim backend on\n"
        "this host (device URI cosim:PATH). One host at a time; a second one is\n"
        "refused until the first disconnects, which resets the NPU (card memory\n"
        "stays). The socket appears once the card listens and is removed on exit.\n"
        "\n"
        "options:\n"
        "      --socket PATH          where to listen (required)\n"
        "      --mem-size SIZE        card memory, the BAR2 size: a power of two,\n"
        "                             bytes or with a K/M/G suffix (default 256M);\n"
        "                             a 64 KiB control area, the rest card DRAM at\n"
        "                             NPU address 0x80000000\n"
        "      --config NAME          the NPU's configuration: default (16x16) or\n"
        "                             small (4x4)\n"
        "      --kill-after-cycles N  fault injection: once the NPU has run N\n"
        "                             cycles the process kills itself (SIGKILL), a\n"
        "                             card that vanishes as the host sees it\n"
        "      --quiet                no messages but errors\n"
        "  -h, --help                 this text\n"
        "\n"
        "exit status: 0 stopped by SIGTERM or SIGINT; 1 the card could not be made\n"
        "or served; 2 bad command line.\n";

#ifndef NPU_COSIM_MISSING
static struct npu_cosim *card;

static void on_signal(int sig)
{
	(void)sig;
	if (card)
		npu_cosim_stop(card);
}
#endif

static int usage_error(const char *fmt, const char *arg)
{
	fputs("npu-cosim: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(npu-cosim --help for usage)\n", stderr);
	return EXIT_USAGE;
}

/* Decimal digits with an optional K, M or G suffix; 0 on error. */
static unsigned long long parse_size(const char *s)
{
	unsigned long long v, mul = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	else if (*end)
		return 0;
	if (*end && end[1])
		return 0;
	if (v > (~0ull) / mul)
		return 0;
	return v * mul;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"mem-size", required_argument, NULL, 'm'},
	        {"config", required_argument, NULL, 'c'},
	        {"kill-after-cycles", required_argument, NULL, 'k'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct npu_cosim_config cfg;
	int o;

	memset(&cfg, 0, sizeof(cfg));
	cfg.npu_config = "default";
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'm':
			cfg.mem_size = parse_size(optarg);
			if (!cfg.mem_size || (cfg.mem_size & (cfg.mem_size - 1)) ||
			    cfg.mem_size < (128u << 10))
				return usage_error("--mem-size '%s': need a power of two of at "
				                   "least 128K",
				                   optarg);
			break;
		case 'c':
			if (strcmp(optarg, "default") && strcmp(optarg, "small"))
				return usage_error("--config '%s': default or small", optarg);
			cfg.npu_config = optarg;
			break;
		case 'k': {
			char *end;

			errno = 0;
			cfg.kill_after_cycles = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' ||
			    !cfg.kill_after_cycles)
				return usage_error("--kill-after-cycles '%s': need a whole number "
				                   ">= 1",
				                   optarg);
			break;
		}
		case 'q':
			cfg.quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs("(npu-cosim --help for usage)\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg.socket_path || !*cfg.socket_path)
		return usage_error("%s", "--socket PATH is required");
#ifdef NPU_COSIM_MISSING
	fprintf(stderr, "npu-cosim: %s\n", NPU_COSIM_MISSING);
	return 1;
#else

	struct sigaction sa;
	sigset_t block, old;
	char why[256] = "";
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Blocked until the card exists, so a signal cannot find it half made. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (npu_cosim_create(&cfg, &card, why, sizeof(why)) != 0) {
		fprintf(stderr, "npu-cosim: %s\n", why);
		return 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	rc = npu_cosim_serve(card);
	npu_cosim_destroy(card);
	card = NULL;
	return rc ? 1 : 0;
#endif
}
