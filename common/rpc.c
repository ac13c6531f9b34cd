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
#include <stdlib.h>

#include <nng/protocol/reqrep0/req.h>

#include "rpcauth.h"
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

/* Dialed sockets whose URL names a node of the identity (rpc_sock_peer). */
typedef struct rpc_speer {
	uint32_t id;
	const char *peer;
} rpc_speer;
static pthread_mutex_t rpc_speers_mtx = PTHREAD_MUTEX_INITIALIZER;
static rpc_speer *rpc_speers;
static size_t rpc_nspeers, rpc_speers_cap;

static int
rpc_sock_peer_set(nng_socket sock, const char *peer)
{
	int rv = 0;
	pthread_mutex_lock(&rpc_speers_mtx);
	if (rpc_nspeers == rpc_speers_cap) {
		size_t cap = rpc_speers_cap ? rpc_speers_cap * 2 : 16;
		rpc_speer *n = realloc(rpc_speers, cap * sizeof(*n));
		if (n == NULL)
			rv = TWOPC_ENOMEM;
		else {
			rpc_speers = n;
			rpc_speers_cap = cap;
		}
	}
	if (rv == 0)
		rpc_speers[rpc_nspeers++] = (rpc_speer){ nng_socket_id(sock), peer };
	pthread_mutex_unlock(&rpc_speers_mtx);
	return rv;
}

const char *
rpc_sock_peer(nng_socket sock)
{
	const char *peer = NULL;
	uint32_t id = (uint32_t)nng_socket_id(sock);
	pthread_mutex_lock(&rpc_speers_mtx);
	for (size_t i = 0; i < rpc_nspeers && peer == NULL; i++)
		if (rpc_speers[i].id == id)
			peer = rpc_speers[i].peer;
	pthread_mutex_unlock(&rpc_speers_mtx);
	return peer;
}

static void
rpc_sock_peer_drop(nng_socket sock)
{
	uint32_t id = (uint32_t)nng_socket_id(sock);
	pthread_mutex_lock(&rpc_speers_mtx);
	for (size_t i = 0; i < rpc_nspeers; i++)
		if (rpc_speers[i].id == id) {
			rpc_speers[i] = rpc_speers[--rpc_nspeers];
			break;
		}
	if (rpc_nspeers == 0) {
		free(rpc_speers);
		rpc_speers = NULL;
		rpc_speers_cap = 0;
	}
	pthread_mutex_unlock(&rpc_speers_mtx);
}

void
rpc_close(nng_socket sock)
{
	rpc_chan_close(sock);
	rpc_sock_peer_drop(sock);
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
	const char *peer = rpc_auth_peer(url);
	if (peer != NULL && rpc_sock_peer_set(s, peer) != 0) {
		nng_close(s);
		return TWOPC_ENOMEM;
	}
	*out = s;
	return 0;
}
