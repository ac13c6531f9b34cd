/*
 * rpc.c - see rpc.h: what the REP server (rpcsrv.c) and the REQ calls
 * (rpccall.c) share: the socket options, the NNG error mapping, dialing,
 * and rpc_close() with the lock that makes a close safe against calls in
 * flight on other threads. A tls+tcp:// URL gets its TLS configuration
 * from rpctls.c.
 */
#include "rpc.h"

#include <pthread.h>
#include <stdatomic.h>

#include <nng/protocol/reqrep0/req.h>

#include "rpcpriv.h"
#include "tlog.h"
#include "twopc/error.h"

/*
 * NNG 1.5 (Debian's libnng) panics ("pthread_mutex_lock: Invalid argument"
 * from nni_ctx_rele) when a socket is closed while another thread is inside
 * an nng_ctx_* call on it: the context is freed after the closing thread
 * has already been told it may destroy the socket. So every nng_ctx_*
 * call in rpc*.c holds this lock shared (RPC_CTX_CALL, rpcpriv.h), and
 * rpc_close() closes a socket holding it exclusively. Waits (nng_aio_wait) hold nothing: a close still
 * wakes them with NNG_ECLOSED.
 */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
pthread_rwlock_t rpc_close_lk = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
#else
pthread_rwlock_t rpc_close_lk = PTHREAD_RWLOCK_INITIALIZER;
#endif

tlimit rpc_bad_reply_log = TLIMIT_INIT("malformed replies");

static atomic_uint_fast64_t rpc_sent;

void
rpc_count_send(void)
{
	atomic_fetch_add_explicit(&rpc_sent, 1, memory_order_relaxed);
}

uint64_t
rpc_messages_sent(void)
{
	return atomic_load(&rpc_sent);
}

void
rpc_close(nng_socket sock)
{
	rpc_chan_close(sock);
	pthread_rwlock_wrlock(&rpc_close_lk);
	nng_close(sock);
	pthread_rwlock_unlock(&rpc_close_lk);
}

int
rpc_err(int rv)
{
	switch (rv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return TWOPC_ETIMEDOUT;
	case NNG_ENOMEM: return TWOPC_ENOMEM;
	case NNG_ECLOSED: return TWOPC_ECLOSED;
	case NNG_EMSGSIZE: return TWOPC_ETOOBIG;
	default: return TWOPC_ENET;
	}
}

int
rpc_setup(nng_socket s)
{
	int rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, WIRE_MAX_MSG + RPC_SP_HEADER_ROOM);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 20);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 500);
	return rv;
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
	*out = s;
	return 0;
}
