/*
 * rpc.c - a REQ socket's life (rpc.h): rpc_dial opens it (a tls+tcp://
 * URL with its TLS configuration from rpctls.c) and rpc_close closes it,
 * first closing its channel (rpcchan.c), then the socket under
 * rpc_close_lk (rpcbase.c says why). The top of the REQ side: nothing in
 * the module calls it.
 */
#include "rpc.h"

#include <pthread.h>

#include <nng/protocol/reqrep0/req.h>

#include "rpcauth.h"
#include "rpcpriv.h"
#include "tlog.h"
#include "twopc/error.h"

void
rpc_close(nng_socket sock)
{
	rpc_chan_close(sock);
	rpc_sock_peer_drop(sock);
	pthread_rwlock_wrlock(&rpc_close_lk);
	nng_close(sock);
	pthread_rwlock_unlock(&rpc_close_lk);
}

/* Dial URL on S in the background; a tls+tcp:// URL with the process's
 * TLS identity (rpctls.c). 0, an NNG error, or -1 (TLS, logged). */
static int
rpc_dial_start(nng_socket s, const char *url)
{
	nng_dialer d;
	nng_tls_config *tls;
	int rv;

	if (!rpc_tls_url(url))
		return nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK);
	if ((tls = rpc_tls_config(0, url)) == NULL)
		return -1;
	/* The dialer holds its own reference to the configuration. */
	if ((rv = nng_dialer_create(&d, s, url)) == 0 &&
	    (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls)) == 0)
		rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	nng_tls_config_free(tls);
	return rv;
}

int
rpc_dial(const char *url, int resend, nng_socket *out)
{
	nng_socket s;
	int rv = nng_req0_open(&s);
	if (rv != 0)
		return rpc_err(rv);
	/* A request socket gets BATCH replies, larger than any request. */
	if ((rv = rpc_setup(s)) != 0 ||
	    (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, WIRE_MAX_BATCH + RPC_SP_HEADER_ROOM)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME,
	    resend ? RPC_RESEND_MS : NNG_DURATION_INFINITE)) != 0 ||
	    (rv = rpc_dial_start(s, url)) != 0) {
		if (rv > 0)
			tlog_error("cannot dial %s: %s", url, nng_strerror(rv));
		nng_close(s);
		return rv > 0 ? TWOPC_ENET : TWOPC_ECONFIG;
	}
	const char *peer = rpc_auth_peer(url);
	if (peer != NULL && rpc_sock_peer_set(s, peer) != 0) {
		nng_close(s);
		return TWOPC_ENOMEM;
	}
	*out = s;
	return 0;
}
