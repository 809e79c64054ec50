/*
 * npu-vboard: run a command with a virtual lwnpu dev board plugged in
 * (firmware/vboard, docs/USB_BOARD.md). The board lives in this process;
 * the command reaches it through umockdev's preload library, which the
 * command inherits with the testbed's directory.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firmware/vboard/vboard.h"

#define EXIT_USAGE 2
#define PRELOAD    "libumockdev-preload.so.0"

static const char usage_text[] =
        "usage: npu-vboard [--config default|small] [--dram-mib N] [--record FILE]\n"
        "                  [--stats] [--] COMMAND [ARG...]\n"
        "\n"
        "Run COMMAND with a virtual lwnpu dev board plugged in. The board is the\n"
        "firmware's host build over the Verilated NPU and board DRAM, presented to\n"
        "libusb as USB device 1209:0001 through umockdev's emulation of the kernel's\n"
        "usbdevfs interface (the USB wire itself is not modelled). COMMAND runs\n"
        "with UMOCKDEV_DIR set to the board's testbed and\n"
        "LD_PRELOAD=" PRELOAD ", so its libusb (the usb backend,\n"
        "usb: device URIs) finds the board as it would a real one. The board goes\n"
        "away when COMMAND exits.\n"
        "\n"
        "options:\n"
        "      --config NAME    the NPU's configuration: default (16x16) or small (4x4)\n"
        "      --dram-mib N     board DRAM in MiB (default 256), at NPU address\n"
        "                       0x80000000\n"
        "      --stats          when COMMAND has exited, print the board's counters\n"
        "                       (URBs, bytes each way, events, NPU cycles) on stderr\n"
        "      --record FILE    record the session as a firmware trace\n"
        "                       (firmware/fw_trace.h, the fuzz target's seeds); after a\n"
        "                       re-plug FILE.2, FILE.3, ... (same as NPU_VBOARD_RECORD)\n"
        "  -h, --help           this text\n"
        "\n"
        "environment: NPU_VBOARD_RECORD=FILE as --record; NPU_VBOARD_REAP_WAIT_US=N\n"
        "how long a reap with nothing to reap waits for a completion (default\n"
        "1000; 0 answers at once and lets libusb's event loop spin).\n"
        "\n"
        "exit status: COMMAND's (128+N if it died of signal N); 1 the board could\n"
        "not be made or COMMAND not run; 2 bad command line.\n";

#ifndef NPU_VBOARD_MISSING
static pid_t child;

/* Signals meant for the command reach it; the board stays until it ends. */
static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}
#endif

static int parse_mib(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end || *out == 0 || *out > (64ull << 10) || s[0] == '-' ? -1
	                                                                                     : 0;
}

#ifndef NPU_VBOARD_MISSING
static void print_stats(struct vboard *vb)
{
	struct vboard_stats st;

	vboard_get_stats(vb, &st);
	fprintf(stderr,
	        "npu-vboard: %llu URBs (%llu control), bulk %llu bytes out / %llu in, "
	        "%llu events, %llu NPU cycles, DRAM %llu bytes written / %llu read by the "
	        "firmware\n",
	        (unsigned long long)st.urbs, (unsigned long long)st.control,
	        (unsigned long long)st.bulk_out_bytes, (unsigned long long)st.bulk_in_bytes,
	        (unsigned long long)st.events, (unsigned long long)st.npu_cycles,
	        (unsigned long long)st.dram_written, (unsigned long long)st.dram_read);
}
#endif

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"dram-mib", required_argument, NULL, 'm'},
	        {"record", required_argument, NULL, 'r'},
	        {"stats", no_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = "default", *record = NULL;
	int stats = 0;
	unsigned long long mib = 256;
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'm':
			if (parse_mib(optarg, &mib)) {
				fprintf(stderr, "npu-vboard: --dram-mib: not a size: %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			record = optarg;
			break;
		case 's':
			stats = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(config, "default") && strcmp(config, "small")) {
		fprintf(stderr, "npu-vboard: --config: default or small, not %s\n", config);
		return EXIT_USAGE;
	}
#ifdef NPU_VBOARD_MISSING
	(void)record;
	(void)stats;
	fprintf(stderr, "npu-vboard: %s\n", NPU_VBOARD_MISSING);
	return 1;
#else
	struct vboard_config cfg = {0};
	struct vboard *vb;
	const char *pre = getenv("LD_PRELOAD");
	char *preload;
	int status;

	cfg.npu_config = config;
	cfg.dram_size = mib << 20;
	if (record && setenv("NPU_VBOARD_RECORD", record, 1) != 0)
		return 1;
	if (vboard_create(&cfg, &vb) != 0) {
		fprintf(stderr, "npu-vboard: cannot create the board\n");
		return 1;
	}
	/* The recording is this board's: a board the command makes (a test
	 * binary) must not write the same file. */
	unsetenv("NPU_VBOARD_RECORD");
	/* UMOCKDEV_DIR is the testbed's already; the preload joins any other. */
	if (pre && *pre) {
		preload = malloc(strlen(PRELOAD) + strlen(pre) + 2);
		if (!preload)
			goto err_destroy;
		sprintf(preload, "%s:%s", PRELOAD, pre);
	} else {
		preload = strdup(PRELOAD);
		if (!preload)
			goto err_destroy;
	}
	setenv("LD_PRELOAD", preload, 1);
	free(preload);

	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	child = fork();
	if (child < 0) {
		perror("npu-vboard: fork");
		goto err_destroy;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "npu-vboard: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("npu-vboard: waitpid");
			goto err_destroy;
		}
	}
	if (stats)
		print_stats(vb);
	vboard_destroy(vb);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);

err_destroy:
	vboard_destroy(vb);
	return 1;
#endif
}
