/*
 * rpcbase.c - the bottom of the rpc module (rpc.h): what the REP server
 * (rpcsrv.c), the peer channels (rpcchan.c), the calls (rpccall.c,
 * rpcbatch.c) and dialing (rpc.c) share: the lock that makes a socket's
 * close safe against calls in flight, the NNG error mapping, the socket
 * options, the count of messages sent, the registry of dialed sockets'
 * peers, and the check of a sealed reply. It calls no other file of the
 * module but rpcauth.c.
 */
#include "rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

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

int
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

void
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

static tlimit rpc_unauth_reply_log = TLIMIT_INIT("unauthenticated replies");

int
rpc_reply_check(const uint8_t *data, size_t len, const wire_msg *rep, const char *peer,
    const uint8_t *tag)
{
	const char *why = NULL;
	if (rpc_auth_check(data, len, rep, peer, tag, &why) == 0)
		return 0;
	if (rep->type == WIRE_ERROR && rep->text != NULL) {
		char esc[512];
		tlog_escape(esc, sizeof(esc), rep->text);
		tlimit_log(&rpc_unauth_reply_log, TLOG_WARN, "reply of %s ignored: %s; it said: %s",
		    peer, why, esc);
	} else {
		tlimit_log(&rpc_unauth_reply_log, TLOG_WARN, "%s reply of %s ignored: %s",
		    wire_type_name(rep->type), peer, why);
	}
	return TWOPC_EPROTO;
}
