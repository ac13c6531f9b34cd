/*
 * netprobe.c - see netprobe.h.
 */
#include "netprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mclock.h"
#include "twopc/error.h"

/* Connect FD to SA within TIMEOUT_MS: 0, or an errno value (ETIMEDOUT). */
static int
netprobe_connect(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		int left = (int)(end - mono_ms());
		int n = poll(&p, 1, left > 0 ? left : 0);
		if (n > 0)
			break;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
	int err = 0;
	socklen_t elen = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		return errno;
	return err;
}

static int
netprobe_result(int err, char *why, size_t whylen)
{
	if (err == 0)
		return 0;
	snprintf(why, whylen, "%s", err == ETIMEDOUT ? "no answer to the connection" :
	    strerror(err));
	return err == ETIMEDOUT ? TWOPC_ETIMEDOUT : TWOPC_ENET;
}

static int
netprobe_ipc(const char *path, int timeout_ms, char *why, size_t whylen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return 0; /* NNG's to judge */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int err = netprobe_connect(fd, (struct sockaddr *)&sun, sizeof(sun), timeout_ms);
	close(fd);
	return netprobe_result(err, why, whylen);
}

static int
netprobe_tcp(const char *hostport, int timeout_ms, char *why, size_t whylen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return 0;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	/* [::1] -> ::1 */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rv = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rv != 0) {
		snprintf(why, whylen, "no address for %s: %s", host, gai_strerror(rv));
		return TWOPC_ENET;
	}
	int err = ENOENT;
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = netprobe_connect(fd, a->ai_addr, a->ai_addrlen, timeout_ms);
		close(fd);
		if (err == 0)
			break;
	}
	freeaddrinfo(res);
	return netprobe_result(err, why, whylen);
}

int
netprobe_url(const char *url, int timeout_ms, char *why, size_t whylen)
{
	if (strncmp(url, "tcp://", 6) == 0)
		return netprobe_tcp(url + 6, timeout_ms, why, whylen);
	if (strncmp(url, "tls+tcp://", 10) == 0)
		return netprobe_tcp(url + 10, timeout_ms, why, whylen);
	if (strncmp(url, "ipc://", 6) == 0)
		return netprobe_ipc(url + 6, timeout_ms, why, whylen);
	return 0;
}
