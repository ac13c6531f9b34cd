/*
 * fuzz_config.c - libFuzzer target for the cluster-file loader
 * (config.h): YAML text in, a cluster or error lines out; it must not
 * crash, leak or read out of bounds whatever the text.
 *
 * cfg_load() reads a file: the input is written to a memory file
 * (memfd) and loaded through /proc/self/fd. The TLS files a valid
 * cluster names are not opened (cfg_tls_* is not called).
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], errs[4096];
	cfg_cluster *c = NULL;
	int fd = memfd_create("twopc-fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (cfg_load(path, &c, errs, sizeof(errs)) == 0)
			cfg_free(c);
	}
	close(fd);
	return 0;
}
