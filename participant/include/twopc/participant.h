/*
 * twopc/participant.h - the embeddable twopc participant library.
 *
 * The library serves the whole participant side of the protocol: it listens
 * for the coordinator, keeps the write-ahead log (a SQLite file), locks keys,
 * forces READY before voting COMMIT, recovers after a crash and asks for
 * decisions it is missing. The application brings its resource through three
 * callbacks, XA-style:
 *
 *   prepare  stage the work into the workspace the library keeps (call
 *            twopc_txn_stage()), return the vote;
 *   commit   apply the staged workspace (read it with twopc_txn_staged());
 *   abort    undo anything prepare did outside the workspace.
 *
 * commit and abort are called AT LEAST ONCE per decided transaction, also
 * again after a crash, so they MUST be idempotent. A callback that returns
 * an error is called again later (with backoff); the transaction is not
 * forgotten.
 *
 * Threading: callbacks are called from the library's worker threads, one
 * transaction at a time per handle (the library holds its log lock around
 * each call), so a resource needs no locking of its own for the calls.
 * From inside a callback only the twopc_txn_* functions may be called; never
 * twopc_participant_stop() or _close().
 *
 * Logging: the library never prints unless a log function is installed with
 * twopc_set_log(). It never exits the process: a log write that fails (disk
 * full, I/O error) stops the handle, and twopc_participant_wait() returns
 * TWOPC_EIO.
 */
#ifndef TWOPC_PARTICIPANT_H
#define TWOPC_PARTICIPANT_H

#include <stddef.h>
#include <stdint.h>

#include "twopc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TWOPC_VERSION_MAJOR 0
#define TWOPC_VERSION_MINOR 1
#define TWOPC_VERSION_PATCH 0
#define TWOPC_VERSION_STRING "0.1.0"

/* The library's version, "MAJOR.MINOR.PATCH". */
TWOPC_API const char *twopc_version(void);

typedef struct twopc_participant twopc_participant;
typedef struct twopc_txn twopc_txn;

/* Votes returned by prepare. */
typedef enum twopc_vote {
	TWOPC_VOTE_COMMIT = 1,
	TWOPC_VOTE_ABORT = 2,
	/* Nothing to write here: the participant leaves the transaction at
	 * once (its locks are released, it gets no GLOBAL and is not asked to
	 * ACK); commit and abort are never called for it. Anything staged is
	 * discarded. The library forces a small note of the vote, so that a
	 * peer asking during termination hears "voted yes, no decision
	 * known" rather than an ABORT it could act on. */
	TWOPC_VOTE_READONLY = 3,
} twopc_vote;

/* One operation of the work sent to this participant. */
typedef struct twopc_op {
	const char *op;    /* "put", "del", "check" or "add" */
	const char *key;
	const char *value; /* "" for del */
} twopc_op;

typedef struct twopc_resource {
	/*
	 * Decide the vote for OPS (the library has already locked every key of
	 * OPS for this transaction, no-wait: a conflict never reaches here). Stage what commit will need with
	 * twopc_txn_stage(); explain an ABORT with twopc_txn_set_reason().
	 * Return TWOPC_VOTE_COMMIT, TWOPC_VOTE_ABORT, TWOPC_VOTE_READONLY (the
	 * work reads only and needs no phase two), or a negative twopc_err
	 * (counts as ABORT). Required.
	 */
	int (*prepare)(void *user, twopc_txn *txn, const twopc_op *ops, size_t nops);
	/*
	 * Apply the staged workspace. Runs inside the log transaction that
	 * records COMMIT, so a resource kept in the same SQLite file
	 * (twopc_txn_sqlite()) commits atomically with the record. Return 0 or
	 * a negative twopc_err (retried later). Required; idempotent.
	 */
	int (*commit)(void *user, twopc_txn *txn);
	/* Undo prepare's effects outside the workspace; may be NULL.
	 * Idempotent. */
	int (*abort)(void *user, twopc_txn *txn);
	/* Read the committed value of KEY into BUF (NUL-terminated); return
	 * 1 found, 0 not found, or a negative twopc_err. May be NULL (then
	 * `twopc get` answers TWOPC_EUNSUPPORTED). */
	int (*read)(void *user, void *sqlite_db, const char *key, char *buf, size_t len);
	void *user;
} twopc_resource;

/*
 * Open participant NAME of the cluster described by the YAML file
 * CLUSTER_FILE (twopc.yaml(5)), with resource RES (copied). Opens the log
 * and runs the schema, but starts nothing. Returns 0 and *out, or
 * TWOPC_EINVAL (NULL argument, missing prepare/commit), TWOPC_ECONFIG (the
 * file does not load; the errors go to the log function), TWOPC_ENOENT (no
 * participant NAME), TWOPC_EIO (the log cannot be opened), TWOPC_ENOMEM.
 */
TWOPC_API int twopc_participant_open(twopc_participant **out, const char *cluster_file,
    const char *name, const twopc_resource *res);

/*
 * Load and check the YAML file CLUSTER_FILE (twopc.yaml(5)) without
 * opening anything: no log, no socket, no thread. With NAME (may be NULL),
 * also check that it has a participant NAME. Returns 0 and, if
 * NPARTICIPANTS is not NULL, the number of participants in *nparticipants;
 * or TWOPC_EINVAL (NULL file), TWOPC_ECONFIG (the file does not load; each
 * error goes to the log function as a "FILE:LINE:COLUMN: message" line),
 * TWOPC_ENOENT (no participant NAME; said to the log function),
 * TWOPC_ENOMEM.
 */
TWOPC_API int twopc_participant_check(const char *cluster_file, const char *name,
    size_t *nparticipants);

/* A node of the cluster: its name and the NNG URL it listens on. */
typedef struct twopc_node {
	const char *name;
	const char *listen;
} twopc_node;

/* The cluster without a YAML file (twopc_participant_open_config). */
typedef struct twopc_participant_config {
	const char *name;                /* this participant */
	const char *log;                 /* its SQLite file (created if missing) */
	twopc_node coordinator;
	const twopc_node *participants;  /* every participant, this one included */
	size_t nparticipants;
	unsigned decision_timeout_ms;    /* 0: 1000 */
	unsigned retention_s;            /* 0: 86400 */
	int durability_normal;           /* 0: full (fsync every forced write) */
} twopc_participant_config;

/*
 * Open a participant from CFG instead of a file; the strings are copied.
 * Errors as twopc_participant_open; TWOPC_ECONFIG for a bad name, URL or a
 * duplicate (the reason goes to the log function).
 */
TWOPC_API int twopc_participant_open_config(twopc_participant **out,
    const twopc_participant_config *cfg, const twopc_resource *res);

/*
 * Declare that the resource's commit writes only through
 * twopc_txn_sqlite() (the log's own SQLite file), so that applying it and
 * recording COMMIT are one atomic SQLite transaction. A one-phase commit
 * (a transaction whose only participant is this one) can then stage,
 * apply and record COMMIT in a single forced write. Off by default: a
 * resource that writes anywhere else (files, another database) must not
 * apply anything that a crash could leave without its record, so a
 * one-phase commit first forces READY (the decision, taken here), then
 * calls commit, as two-phase does. Call before twopc_participant_start.
 * Returns 0, TWOPC_EINVAL (NULL) or TWOPC_ESTATE (already started).
 */
TWOPC_API int twopc_participant_set_atomic_commit(twopc_participant *p, int atomic);

/*
 * Recover from the log (finish decided transactions, schedule decision
 * requests for READY ones), then listen and serve. Returns 0, TWOPC_ESTATE
 * if already started, TWOPC_ENET if the listen URL cannot be bound,
 * TWOPC_EIO.
 */
TWOPC_API int twopc_participant_start(twopc_participant *p);

/*
 * Block until the handle stops: 0 after twopc_participant_stop(),
 * TWOPC_EIO if a forced log write failed (the handle stopped serving so as
 * to promise nothing it could not keep), TWOPC_ESTATE at once if the
 * handle was never started or its start failed.
 */
TWOPC_API int twopc_participant_wait(twopc_participant *p);

/* Ask a started handle to stop; returns at once. Safe from a signal
 * handler thread, not from a callback. */
TWOPC_API int twopc_participant_stop(twopc_participant *p);

/*
 * How many passes the handle's background thread (decision requests for
 * READY transactions, the failure detector, retention) has completed
 * since twopc_participant_start(): it grows every 20-250 ms while the
 * handle is healthy. A program under a service manager's watchdog pings
 * it only while this grows (twopc-participant(8) does so with systemd);
 * the library itself never talks to a service manager. Any thread; 0 for
 * NULL or a handle not started.
 */
TWOPC_API uint64_t twopc_participant_progress(const twopc_participant *p);

/*
 * Read the cluster file the handle was opened from again and apply what
 * can change while it serves: the timeouts and the log level it names
 * (twopc_participant_log_level), and participants added at the end of the
 * list (this one may then ask them in the termination protocol). Any
 * other difference (a name, a listen address, a log path, durability,
 * insecure, the tls section, a participant removed or moved) is refused,
 * one line to the log function naming the key; what can be applied still
 * is. A file that does not load changes nothing (its errors go to the log
 * function as "FILE:LINE:COLUMN: message" lines). The handle keeps
 * serving in every case. Returns 0 when everything that differed was
 * applied; TWOPC_ECONFIG when something was refused or the file does not
 * load; TWOPC_EINVAL (NULL, or a handle opened without a file:
 * twopc_participant_open_config); TWOPC_ENOMEM. Any thread but a
 * callback's; one call at a time per handle. twopc-participant(8) calls it
 * on SIGHUP.
 */
TWOPC_API int twopc_participant_reload(twopc_participant *p);

/*
 * The log_level the cluster file names, as twopc_set_log's levels: 0
 * (error), 1 (warn), 2 (info), 3 (debug); -1 when it names none (or P is
 * NULL, or the handle was opened without a file). The library does not
 * apply it: the program owns the log function and its level.
 */
TWOPC_API int twopc_participant_log_level(const twopc_participant *p);

/* Stop if needed, join every thread, close the log, free. NULL no-op. */
TWOPC_API void twopc_participant_close(twopc_participant *p);

/* The transaction's id, valid during the callback. */
TWOPC_API const char *twopc_txn_id(const twopc_txn *txn);

/* Add one row to the workspace of TXN (in prepare only). 0 or TWOPC_EIO,
 * TWOPC_EINVAL (outside prepare, NULL key). */
TWOPC_API int twopc_txn_stage(twopc_txn *txn, const char *op, const char *key, const char *value);

/* Number of staged rows, and row I (pointers valid during the callback). */
TWOPC_API size_t twopc_txn_nstaged(const twopc_txn *txn);
TWOPC_API int twopc_txn_staged(const twopc_txn *txn, size_t i, twopc_op *out);

/* The reason given with an ABORT vote (copied, truncated to 200 bytes). */
TWOPC_API void twopc_txn_set_reason(twopc_txn *txn, const char *reason);

/* The log's sqlite3 handle (as void *), inside its open transaction. */
TWOPC_API void *twopc_txn_sqlite(const twopc_txn *txn);

/*
 * A prepared statement (sqlite3_stmt *, as void *) of that handle for SQL,
 * prepared on the first call with this text and kept until the participant
 * closes: each call returns it reset, its bindings cleared. Reset it before
 * the callback returns if a step left it inside a result; never finalize
 * it. NULL when SQL does not prepare (logged) or when the library already
 * keeps 32 statements of its resource. Preparing is much of a small
 * transaction's cost at a participant: this is for statements run on
 * every transaction.
 */
TWOPC_API void *twopc_txn_stmt(twopc_txn *txn, const char *sql);

/* Where the library's log lines go: FN(user, level 0=error..3=debug, line).
 * NULL silences (the default). Process-wide. */
TWOPC_API void twopc_set_log(void (*fn)(void *user, int level, const char *line), void *user,
    int max_level);

#ifdef __cplusplus
}
#endif
#endif
