/*
 * cfgpath.c - whether a node's log path can be used, checked without
 * touching it (config.h, cfg_check_log): what --check-config adds to the
 * file's own validation, so that `log: .` (a folder) or a read-only
 * folder is reported with the line of the file, not as a failed start.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
cfgpath_err(const cfg_cluster *c, const cfg_node *node, char *errbuf, size_t errlen,
    const char *fmt, ...)
{
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (errbuf == NULL || errlen == 0)
		return -1;
	size_t used = strnlen(errbuf, errlen - 1);
	if (node->log_line > 0)
		snprintf(errbuf + used, errlen - used, "%s:%d:%d: log '%s' of %s: %s\n", c->path,
		    node->log_line, node->log_col, node->log, node->name, why);
	else
		snprintf(errbuf + used, errlen - used, "config: log '%s' of %s: %s\n", node->log,
		    node->name, why);
	return -1;
}

/* The folder part of PATH in BUF ("/" for a file at the root). */
static void
cfgpath_dirname(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", path);
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		snprintf(buf, len, ".");
	else if (slash == buf)
		buf[1] = '\0';
	else
		*slash = '\0';
}

int
cfg_check_log(const cfg_cluster *c, const cfg_node *node, char *errbuf, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;

	if (node->log == NULL)
		return cfgpath_err(c, node, errbuf, errlen, "no path");
	if (stat(node->log, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return cfgpath_err(c, node, errbuf, errlen, "is a directory, not a file "
			    "(name the log file in it, e.g. %s/%s.db)", node->log, node->name);
		if (!S_ISREG(st.st_mode))
			return cfgpath_err(c, node, errbuf, errlen, "is not a regular file");
		int fd = open(node->log, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return cfgpath_err(c, node, errbuf, errlen, "cannot be opened for writing: %s",
			    strerror(errno));
		close(fd);
		cfgpath_dirname(node->log, dir, sizeof(dir));
	} else if (errno != ENOENT && errno != ENOTDIR) {
		return cfgpath_err(c, node, errbuf, errlen, "%s", strerror(errno));
	} else {
		/* The daemon creates the missing folders: the nearest one that
		 * exists must take them. */
		cfgpath_dirname(node->log, dir, sizeof(dir));
		while (stat(dir, &st) != 0) {
			if ((errno != ENOENT && errno != ENOTDIR) || strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
				return cfgpath_err(c, node, errbuf, errlen, "its folder %s cannot be "
				    "made: %s", dir, strerror(errno));
			char up[PATH_MAX];
			cfgpath_dirname(dir, up, sizeof(up));
			snprintf(dir, sizeof(dir), "%s", up);
		}
		if (!S_ISDIR(st.st_mode))
			return cfgpath_err(c, node, errbuf, errlen, "its folder %s is not a "
			    "directory", dir);
	}
	if (access(dir, W_OK | X_OK) != 0)
		return cfgpath_err(c, node, errbuf, errlen, "cannot be created or written in %s: %s",
		    dir, strerror(errno));
	return 0;
}
