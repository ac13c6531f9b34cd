/*
 * twopc.pml -- Promela model of the twopc protocol (DESIGN.md sections 2-4, 8).
 *
 * One transaction; a coordinator C and three participants P0, P1, P2, and
 * the client that submitted it.  Checked exhaustively with SPIN by run.sh
 * beside this file; README.md says what is modelled, what is abstracted and
 * what was measured.  The lock waits of R5 (two transactions) are in
 * locks.pml beside it.
 *
 * The rules (DESIGN R2, R3, R8, R9, sections 3 and 4): the commit point is
 * at the votes.  C forces WAIT while the VOTE_REQUESTs are out; once WAIT is
 * durable and every vote is COMMIT or READ-ONLY the transaction is
 * committed: RESULT COMMITTED and GLOBAL_COMMIT leave at once and C's COMMIT
 * record is lazy.  An ABORT that C decides on its own (vote timeout, a
 * question in WAIT) is forced before it acts on it; one that follows a
 * VOTE_ABORT stays lazy, the NO voter having forced ABORT before voting.
 * A restart that finds WAIT without a decision is "in doubt": it asks every
 * participant (INIT or no record forces ABORT first): all READY, READ-ONLY
 * or COMMIT -> COMMIT, any ABORT -> ABORT, else it stays in doubt and asks
 * again; asked meanwhile, it answers "undecided".  No record at C means
 * WAIT never became durable: ABORT.
 *
 * State
 *   durable   clog, plog[]: the SQLite txn rows; they survive a crash.
 *   volatile  cst, pst[], the vote, ACK and answer sets: lost at a crash;
 *             recovery rebuilds them from the durable log only (DESIGN 3).
 *   network   one bit per (message kind, participant) in flight.  Delivery
 *             is in any order and may be delayed for ever; a delivery may
 *             leave the message in flight (a duplicate, at most MAXDUP per
 *             run); the Net process may lose a message (at most MAXLOSS per
 *             run).
 *   client    told: what RESULT said (COMMITTED or ABORTED); it leaves only
 *             the incarnation that took the SUBMIT (a client whose
 *             coordinator died gets "outcome unknown").
 *
 * Forced and lazy writes
 *   A forced write changes clog/plog before the step goes on.  C's WAIT is
 *   forced in parallel with the vote round: it is pending (cst WAIT, clog
 *   NONE) until its own step "WAIT durable".  A lazy write (participant
 *   INIT row and an ABORT it received, C's COMMIT, an ABORT after a
 *   VOTE_ABORT or from the participants' answers, END) only changes the
 *   volatile state; when the process crashes, each pending write (WAIT
 *   included) either reached the disk or did not (a nondeterministic choice
 *   in the crash step, in write order), which covers every timing.
 *
 * Crashes
 *   At most MAXCRASH crashes per run, all processes together.  A process may
 *   crash in any of its stable states (between any two steps), and inside a
 *   step at each crash point of DESIGN section 8; each such place says which
 *   point it is (CRASH_AT).  Restart and recovery follow at once (time spent
 *   down is message delay or loss, which the network already has).
 *
 * Termination protocol (DESIGN section 4)
 *   A READY participant may ask the coordinator or any peer at any time (its
 *   decision timeout is arbitrary).  The question is modelled as a read of
 *   the answerer's state at a moment the asker chooses while READY, with the
 *   answerer's side effects (C in WAIT may decide ABORT, forced; a peer in
 *   INIT or with no record forces ABORT); the answer travels back through
 *   the faulty network.  Answers that carry nothing ("undecided" from C,
 *   READY or READ-ONLY from a peer) change nothing and are not sent.  C in
 *   doubt asks the participants the same way, one at a time, in any order.
 *
 * Modes
 *   default      safety.  Assertions A1..A7 below, invalid end states.
 *   -DLIVENESS   the same protocol, but retries (decision timeout, resend of
 *                GLOBAL_COMMIT) fire only when nothing else can happen
 *                (eventual synchrony: once the bounded faults are spent,
 *                timeouts are longer than message delays; messages in flight
 *                are eventually delivered).  LTL property `live`: eventually,
 *                for ever, no participant is INIT or READY and the
 *                coordinator is not in WAIT, in doubt or in
 *                COMMIT-without-END.
 *
 *   -DRO_VOTERS=m  bit k: Pk may vote READ-ONLY (default 1: P0 only; 7: all)
 *   -DASK_IN_ORDER C in doubt asks P0, P1, P2 in that order instead of in
 *                any order (a quarter fewer states; run.sh does not use it)
 *
 * Broken variants (each one change; run.sh expects each to FAIL)
 *   -DBUG_INIT_ABORT_NOT_FORCED  INIT/no-record peer answers ABORT unforced
 *   -DBUG_READY_DECIDES_ALONE    READY participant aborts on its own timeout
 *   -DBUG_VOTE_BEFORE_READY      VOTE_COMMIT leaves before READY is forced
 *   -DBUG_GLOBAL_BEFORE_WAIT     RESULT and GLOBAL_COMMIT leave with every
 *                                vote in, WAIT not yet durable
 *   -DBUG_TIMEOUT_ABORT_LAZY     an ABORT C decides on its own (timeout, a
 *                                question in WAIT) is acted on unforced
 *   -DBUG_NO_VOTE_LAZY           a participant votes ABORT without forcing
 *                                its ABORT first
 *   -DBUG_RESTART_PRESUMES_ABORT restart: WAIT without decision -> ABORT
 *   -DBUG_INDOUBT_ABORT          C in doubt (after a restart) decides ABORT
 *                                when a participant asks
 *   -DBUG_NOREC_SILENT           (liveness) a coordinator with no record does
 *                                not answer ABORT to a DECISION_REQUEST
 *
 * Forgetting (R9), an extension: -DFORGET adds the lazy END reaching the
 * disk, FORGET messages (to every participant, READ-ONLY voters too),
 * dropping a participant's COMMIT record or READ-ONLY note on FORGET,
 * dropping an ABORT after its retention and the coordinator's END after its
 * retention, under a retention assumption that DESIGN does not state (see
 * P_RETENTION_OK).  Variants:
 *   -DFORGET_ANYTIME             records dropped without that assumption
 *   -DBUG_FORGET_BEFORE_END      FORGET sent before END is on disk
 *   -DBUG_RO_NOTE_DROPPED        a READ-ONLY note dropped before END (after
 *                                the vote round, like an ABORT record)
 *   -DBUG_COMMIT_DROPPED         a COMMIT record dropped after its ACK,
 *                                before END
 *   -DACK_UNKNOWN_COMMIT         a participant ACKs a COMMIT for a txid it has
 *                                no record of (a rule DESIGN does not have)
 *
 * Incarnations and epochs (R6, DESIGN 3), an extension: -DINCARN has two
 * coordinator processes (slots).  Slot 0 takes the SUBMIT; slot 1 starts at
 * any moment during the run (a second process started by an operator or a
 * supervisor).  A crash kills a slot; only slot 1 starts again.  A start
 * takes the exclusive lock on the log (which stands for the listen address
 * too: both are taken before recovery), forces a new epoch, then recovers
 * from the log.  Decisions and the in-doubt questions from a coordinator
 * carry its epoch; a participant keeps the highest epoch seen (stored with
 * its next log write, lost with a crash until then), refuses a lower one and
 * the refusal goes back to the sender, which stops deciding and exits
 * ("outcome unknown" to a client it serves, if RESULT had not left).  With
 * two processes the properties are about outcomes: A1 is the participants'
 * agreement, A7 what the client was told.
 *   -DNO_LOG_LOCK                (broken) no lock: the second process runs
 *                                recovery on the live log
 *   -DCOPY                       slot 1 runs on a copy of the log, taken when
 *                                it starts while slot 0 runs
 *   -DNO_EPOCH_CHECK             (broken) participants accept stale epochs
 *   -DNO_CLIENT, -DNO_A5         leave out the client / A5, so that a
 *                                counterexample goes on to a split (A1)
 */

#ifndef MAXCRASH
#define MAXCRASH 2      /* crashes per run, all processes together */
#endif
#ifndef MAXLOSS
#define MAXLOSS 1       /* lost messages per run */
#endif
#ifndef MAXDUP
#define MAXDUP 1        /* duplicated deliveries per run */
#endif
#ifndef RO_VOTERS
#define RO_VOTERS 1     /* bit k: Pk may vote READ-ONLY (P0; -DRO_VOTERS=7: all) */
#endif

#define N    3
#define ALL  7
#define B(k) (1 << (k))

/* ---- log records (SQLite txn.state) ---- */
#define L_NONE   0      /* no record of the txid */
#define L_INIT   1      /* participant: INIT row (lazy) */
#define L_WAIT   1      /* coordinator: WAIT row naming the participants
                           (forced, in parallel with the vote round, R2) */
#define L_READY  2      /* participant: READY + workspace (forced, R1) */
#define L_COMMIT 3      /* C: lazy (R2); participant: forced (R3) */
#define L_ABORT  4      /* lazy, except: reported (R8), a NO vote (R2), an
                           ABORT C decides on its own (R2) */
#define L_END    5      /* coordinator: lazy */
#define L_RO     6      /* participant: READ-ONLY note (forced, kept until
                           END like a COMMIT record, R9) */

/* ---- participant volatile state ---- */
#define P_NONE   0      /* no record (never asked, or restarted with none) */
#define P_INIT   1      /* VOTE_REQUEST taken, work being staged */
#define P_READY  2      /* READY forced, VOTE_COMMIT sent (or recovered) */
#define P_COMMIT 3      /* COMMIT forced and ACKed */
#define P_ABORT  4      /* aborted (durable only if plog says so) */
#define P_RO     5      /* voted READ-ONLY: note forced, locks released,
                           no phase two */

/* ---- coordinator volatile state ---- */
#define C_IDLE   0      /* the client has not submitted yet */
#define C_WAIT   1      /* VOTE_REQUESTs out, WAIT being forced, collecting votes */
#define C_COMMIT 2      /* committed (COMMIT lazy), GLOBAL_COMMITs out, collecting ACKs */
#define C_ABORT  3      /* decided ABORT */
#define C_DONE   4      /* every ACK in: END (lazy) */
#define C_NOREC  5      /* restarted with no record of the txid */
#define C_FORGET 6      /* (FORGET) END on disk and FORGET sent */
#define C_DOUBT  7      /* restarted on WAIT without a decision: asking */

/* ---- what the client was told (RESULT) ---- */
#define T_NONE   0
#define T_COMMIT L_COMMIT
#define T_ABORT  L_ABORT

#ifdef INCARN
#define NC 2            /* coordinator process slots (incarnations) */
#else
#define NC 1
#endif
#ifdef COPY
#define NL 2            /* log files: the original, and a copy of it */
#define LG(c) (c)       /* slot 1 runs on the copy */
#else
#define NL 1
#define LG(c) 0         /* every slot runs on the one log */
#endif

/* ---------------- durable ---------------- */
byte clog[NL];
byte plog[N];
bool submitted;         /* the client's one SUBMIT was accepted (R7 resubmission
                           of a txid is not modelled) */

/* ---------------- volatile ---------------- */
byte cst[NC];
byte votes[NC];         /* COMMIT and READ-ONLY votes received in WAIT */
byte ro[NC];            /* ... of which READ-ONLY (also: in-doubt answers) */
byte asked[NC];         /* in doubt: participants that answered yes */
byte acked[NC];         /* ACKs received in COMMIT (READ-ONLY voters count) */
byte pst[N];

/* ---------------- network: bit k = message to / from Pk in flight ------- */
byte vr;                /* VOTE_REQUEST   C -> Pk */
byte vc;                /* VOTE_COMMIT    Pk -> C */
byte vro;               /* VOTE_READONLY  Pk -> C */
byte va;                /* VOTE_ABORT     Pk -> C */
#ifndef INCARN
byte dc;                /* COMMIT -> Pk: GLOBAL_COMMIT, or a COMMIT answer
                           (DECISION_REPLY) from C or from a peer */
byte da;                /* ABORT -> Pk: GLOBAL_ABORT, or an ABORT answer */
#else
/* With incarnations the decisions carry the sender's epoch: dc[k], da[k]
   hold one bit per epoch in flight to Pk; bit 0 is a peer's answer (it
   carries no coordinator epoch and is not checked).  VOTE_REQUESTs come
   only from the incarnation that took the SUBMIT (epoch RUN_EPOCH), and
   votes and ACKs only matter to the one incarnation in WAIT / COMMIT: they
   stay one bit per participant. */
byte dcE[N];
byte daE[N];
#endif
byte ack;               /* ACK            Pk -> C */
#ifdef FORGET
byte fg;                /* FORGET         C -> Pk (R9) */
#endif
/* A participant treats GLOBAL_COMMIT and a COMMIT answer alike (once
   committed it ACKs both; the coordinator may count that ACK, which means
   "COMMIT forced"), and GLOBAL_ABORT and an ABORT answer alike: one bit per
   (decision, receiver) suffices. */

#ifdef INCARN
/* ---------------- incarnations and epochs (R6, DESIGN 3) ----------------
   Slot 0 is the coordinator that takes the SUBMIT (its first start is
   epoch RUN_EPOCH); slot 1 is a second coordinator process that an
   operator (or a supervisor) starts at any moment.  A slot is C_OFF while
   not running; a crash kills it (it may be started again later). */
#define C_OFF    8      /* not running */
#define RUN_EPOCH 1     /* the epoch of the run (of the SUBMIT) */
byte cepoch[NL];        /* durable: meta.epoch of each log, forced at start */
byte lk[NL];            /* the exclusive lock on each log (and its listen
                           address): holder slot + 1, 0 free */
byte cep[NC];           /* volatile: the epoch a slot runs with */
byte gone;              /* bit c: slot c exited on a higher epoch (fenced),
                           it does not come back */
byte fz;                /* bit e: a refusal carrying a higher epoch is on
                           its way to the incarnation of epoch e */
byte hi[N];             /* participant: highest epoch seen (volatile) */
byte hid[N];            /* participant: highest epoch on disk (stored with
                           every log write of that participant) */
#ifdef COPY
bool copied;            /* the copy of log 0 (log 1) exists */
#endif
#endif

/* ---------------- fault budgets ---------------- */
byte crashes;
byte lost;
byte dups;

/* ---------------- ghosts, for the properties only ---------------- */
byte told;              /* RESULT to the client: T_NONE, T_COMMIT, T_ABORT */
byte cdec[NC];          /* the decision each coordinator slot took or announced */
bool saidA;             /* some participant answered a peer ABORT */
byte everYes;           /* bit k: Pk has forced READY or a READ-ONLY note */
byte applied;           /* bit k: Pk has applied its workspace (COMMIT) */

/* ======================= properties ======================= */

/* always-true names, so that a violated assertion says which property it
   belongs to (constant: adds no states) */
bit A1_atomicity = 1;
bit A2_validity = 1;
bit A3_stability = 1;
bit A4_not_alone = 1;
bit A5_agreement = 1;
bit A6_once = 1;
bit A7_durable = 1;
bit A8_one_live = 1;

#if NC == 1
#define CDEC_IS(v) (cdec[0] == (v))
#else
#define CDEC_IS(v) (cdec[0] == (v) || cdec[1] == (v))
#endif

#define PC(k) (plog[k] == L_COMMIT)
#define PA(k) (plog[k] == L_ABORT || pst[k] == P_ABORT)

/* A7 the client: what RESULT said is the outcome everywhere (durability
   of COMMITTED, and an ABORTED that stays aborted). */
#define ANY_PC (PC(0) || PC(1) || PC(2))
#define ANY_PA (PA(0) || PA(1) || PA(2))
#define A7_CLIENT \
	assert(A7_durable && !(told == T_COMMIT && ANY_PA)); \
	assert(A7_durable && !(told == T_ABORT && ANY_PC))

/* A1 atomicity: never COMMIT at one participant and ABORT at another, and
   the coordinator's decision never disagrees with a participant's. */
#ifndef INCARN
#define A1_ATOMICITY \
	A7_CLIENT; \
	assert(A1_atomicity && !(ANY_PC && ANY_PA)); \
	assert(A1_atomicity && !(cdec[0] == L_COMMIT && ANY_PA)); \
	assert(A1_atomicity && !(cdec[0] == L_ABORT && ANY_PC))
#else
/* With two coordinator processes, what counts is the outcome: at the
   participants and told to the client (A7).  A coordinator that was fenced
   may hold a decision nobody accepted. */
#define A1_ATOMICITY \
	A7_CLIENT; \
	assert(A1_atomicity && !(ANY_PC && ANY_PA))
#endif

#ifdef INCARN
#define SAVE_HI(k) hid[k] = hi[k]
#else
#define SAVE_HI(k) skip
#endif

/* A2 validity: the coordinator commits only if every participant forced
   READY or a READ-ONLY note (ghost everYes), and a participant only after
   the coordinator's COMMIT. */
#define A2_VALIDITY_C assert(A2_validity && everYes == ALL)
#define A2_VALIDITY_P assert(A2_validity && CDEC_IS(L_COMMIT))

/* A3 stability: a durable decision is never overwritten with another value;
   the coordinator never takes or announces one decision and later another. */
#define CLOG(v) \
	assert(A3_stability && !(clog[LG(c)] == L_COMMIT && (v) != L_COMMIT && (v) != L_END)); \
	assert(A3_stability && !(clog[LG(c)] == L_END && (v) != L_END)); \
	assert(A3_stability && !(clog[LG(c)] == L_ABORT && (v) != L_ABORT)); \
	clog[LG(c)] = v
#define PLOG(k, v) \
	assert(A3_stability && !(plog[k] == L_COMMIT && (v) != L_COMMIT)); \
	assert(A3_stability && !(plog[k] == L_ABORT && (v) != L_ABORT)); \
	assert(A3_stability && !(plog[k] == L_RO && (v) != L_RO)); \
	assert(A3_stability && !(plog[k] == L_READY && ((v) == L_NONE || (v) == L_INIT))); \
	plog[k] = v; SAVE_HI(k)
/* per coordinator slot (in the base model the one slot: every incarnation
   of the coordinator); a decision never contradicts what the client was
   told (A7), whichever incarnation takes it */
#define CDEC(v) \
	assert(A7_durable && (told == T_NONE || told == (v))); \
	assert(A3_stability && (cdec[c] == 0 || cdec[c] == (v))); cdec[c] = v

/* A4 no READY participant decides alone: it decides v only if the
   coordinator decided v or a peer answered v. */
#define A4_NOT_ALONE(v) assert(A4_not_alone && (CDEC_IS(v) || ((v) == L_ABORT && saidA)))

/* A5 no disagreement: a decision never reaches a participant that holds the
   other one (DESIGN 4: "can only come from a bug or a stale message"); a
   COMMIT never reaches one that did not vote COMMIT or READ-ONLY. */
#ifndef NO_A5
#define A5_AGREE(c) assert(A5_agreement && (c))
#else
#define A5_AGREE(c) skip        /* (to let a run go on to the split itself) */
#endif

/* A6 exactly once: a participant applies the transaction's work at most
   once (R4: a second COMMIT changes nothing). */
#define A6_ONCE(k) assert(A6_once && !(applied & B(k))); applied = applied | B(k)

/* ======================= helpers ======================= */

/* pick one set bit of mask m into k */
inline pick(m, k) {
	if
	:: (m) & 1 -> k = 0
	:: (m) & 2 -> k = 1
	:: (m) & 4 -> k = 2
	fi
}

/* pick one epoch (bit e, 0..5) of mask m */
inline pickE(m, e) {
	if
	:: (m) & 1 -> e = 0
	:: (m) & 2 -> e = 1
	:: (m) & 4 -> e = 2
	:: (m) & 8 -> e = 3
	:: (m) & 16 -> e = 4
	:: (m) & 32 -> e = 5
	fi
}

/* deliver bit k of m: consume it, or leave a duplicate in flight */
#define TAKE(m, k) if :: m = m & ~B(k) :: dups < MAXDUP -> dups++ fi

/* a crash may happen here (inside a step) */
#define CAN_CRASH (crashes < MAXCRASH)

#ifdef LIVENESS
#define NET_EMPTY (vr == 0 && vc == 0 && vro == 0 && va == 0 && dc == 0 && da == 0 && ack == 0)
/* nothing but a timeout (or a fault) can happen */
#define QUIET (NET_EMPTY && cst[0] != C_IDLE && cst[0] != C_WAIT && cst[0] != C_DOUBT && \
	pst[0] != P_INIT && pst[1] != P_INIT && pst[2] != P_INIT)
#endif

#ifdef FORGET
/* FORGET is sent once END is on disk (DESIGN: "after the coordinator has
   recorded END") */
#ifndef BUG_FORGET_BEFORE_END
#define FORGET_OK (clog[0] == L_END)
#else
#define FORGET_OK true          /* (broken) as soon as END is decided in memory */
#endif
/* Retention assumption (not stated in DESIGN): a record is dropped only when
   no message of the transaction to that process is still in flight (the
   retention outlives every message), and an ABORT only after the vote
   timeout (the coordinator has left WAIT). */
#ifndef FORGET_ANYTIME
#define P_RETENTION_OK(i) (!(vr & B(i)) && !(dc & B(i)) && !(da & B(i)))
#define C_RETENTION_OK (vr == 0 && dc == 0 && da == 0 && vc == 0 && vro == 0 && va == 0 && \
	ack == 0 && fg == 0)
#else
#define P_RETENTION_OK(i) true
#define C_RETENTION_OK true
#endif
#endif

#define PDONE(k) (pst[k] == P_NONE || pst[k] == P_COMMIT || pst[k] == P_ABORT || pst[k] == P_RO)
#define DONE (PDONE(0) && PDONE(1) && PDONE(2) && \
	(cst[0] == C_DONE || cst[0] == C_ABORT || cst[0] == C_NOREC || cst[0] == C_FORGET))

#ifdef LIVENESS
ltl live { <> [] DONE }
#endif

/* ======================= coordinator ======================= */

/* a crash inside a step, at the named point (c_crash: below) */
#define CRASH_AT(msg) printf(msg); c_crash(c)

/* receiving; R6, the epoch check (INCARN): a message from an epoch lower
   than the highest seen is refused, and the refusal, carrying the higher
   epoch, goes back to its sender; otherwise a higher epoch is remembered
   (made durable with the next log write, SAVE_HI) */
#ifdef INCARN
#define HAS_DC(i) (dcE[i] != 0)
#define HAS_DA(i) (daE[i] != 0)
#define RECV_DC(i) pickE(dcE[i], e); TAKE(dcE[i], e)
#define RECV_DA(i) pickE(daE[i], e); TAKE(daE[i], e)
#ifndef NO_EPOCH_CHECK
#define STALE(i, E) ((E) != 0 && (E) < hi[i])
#else
#define STALE(i, E) false       /* (broken) stale epochs accepted */
#endif
/* (a refusal to a dead incarnation goes nowhere) */
#define REFUSE(i, E) \
	if \
	:: (cst[0] != C_OFF && cep[0] == (E)) || (cst[1] != C_OFF && cep[1] == (E)) -> \
		fz = fz | B(E) \
	:: else -> skip \
	fi; \
	printf("P%d: refuses epoch %d (highest seen %d)\n", i, E, hi[i])
#define SEE(i, E) if :: (E) > hi[i] -> hi[i] = E :: else -> skip fi
#define RESTORE_HI(i) hi[i] = hid[i]
/* a DECISION_REQUEST goes to whichever coordinator process is up */
#define ASK_C(i) if \
	:: cst[0] != C_OFF && cst[0] != C_IDLE -> c_answer(0, i) \
	:: cst[1] != C_OFF -> c_answer(1, i) \
	fi
#else
#define HAS_DC(i) (dc & B(i))
#define HAS_DA(i) (da & B(i))
#define RECV_DC(i) TAKE(dc, i)
#define RECV_DA(i) TAKE(da, i)
#define STALE(i, E) false
#define REFUSE(i, E) skip
#define SEE(i, E) skip
#define RESTORE_HI(i) skip
#define ASK_C(i) c_answer(0, i)
#endif


/* decisions to participants; E is the sender's epoch (INCARN), 0 for a
   peer's answer */
#ifdef INCARN
#define EP(c) cep[c]
#define SEND_DC(i, E) dcE[i] = dcE[i] | B(E)
#define SEND_DA(i, E) daE[i] = daE[i] | B(E)
#define SEND_DA_ALL(E) SEND_DA(0, E); SEND_DA(1, E); SEND_DA(2, E)
#else
#define EP(c) 0
#define SEND_DC(i, E) dc = dc | B(i)
#define SEND_DA(i, E) da = da | B(i)
#define SEND_DA_ALL(E) da = da | ALL
#endif
/* GLOBAL_COMMIT to the participants in mask m */
#define SEND_DC_SET(m, E) \
	if :: (m) & 1 -> SEND_DC(0, E) :: else -> skip fi; \
	if :: (m) & 2 -> SEND_DC(1, E) :: else -> skip fi; \
	if :: (m) & 4 -> SEND_DC(2, E) :: else -> skip fi

/* RESULT to the client: only the incarnation that took the SUBMIT (the
   one in WAIT) answers; a client whose coordinator died was told nothing */
#ifndef NO_CLIENT
#define TELL(c, v) told = v; \
	if \
	:: (v) == T_COMMIT -> printf("C%d: RESULT COMMITTED to the client\n", c) \
	:: else -> printf("C%d: RESULT ABORTED to the client\n", c) \
	fi
#else
#define TELL(c, v) skip
#endif

/* decide ABORT and send GLOBAL_ABORT to all, once, never retried (a
   participant that misses it asks).  The ABORT row is lazy here: the caller
   forced it first where R2 says so (c_abort_own). */
inline c_abort(c) {
	CDEC(L_ABORT);
	cst[c] = C_ABORT;
	SEND_DA_ALL(EP(c))
}

/* an ABORT the coordinator decides on its own, in WAIT (vote timeout, a
   question): forced before RESULT ABORTED or GLOBAL_ABORT leaves (R2) */
inline c_abort_own(c) {
#ifndef BUG_TIMEOUT_ABORT_LAZY
	CLOG(L_ABORT);
#endif
	TELL(c, T_ABORT);
	c_abort(c)
}

/* the commit point: WAIT durable and every vote COMMIT or READ-ONLY.
   RESULT COMMITTED and GLOBAL_COMMIT (to the COMMIT voters) leave at once;
   the COMMIT row is lazy.  Crashing here is
   coordinator.after_decision_logged. */
inline c_commit_point(c) {
	if
	:: CAN_CRASH -> CRASH_AT("CRASH coordinator.after_decision_logged\n")
	:: true ->
		A2_VALIDITY_C;
		CDEC(L_COMMIT);
		cst[c] = C_COMMIT;
		TELL(c, T_COMMIT);
		acked[c] = ro[c];               /* READ-ONLY voters have left */
		SEND_DC_SET(ALL & ~ro[c], EP(c));
		printf("C%d: commit point, GLOBAL_COMMITs out (COMMIT lazy)\n", c);
		if :: acked[c] == ALL -> cst[c] = C_DONE :: else -> skip fi
	fi
}

#ifndef BUG_GLOBAL_BEFORE_WAIT
#define COMMIT_POINT(c) (votes[c] == ALL && clog[LG(c)] == L_WAIT)
#else
#define COMMIT_POINT(c) (votes[c] == ALL)       /* (broken) WAIT may be pending */
#endif

/* a vote COMMIT (r = 0) or READ-ONLY (r = 1) from Pk */
inline c_yes(c, k, r) {
	if
	:: cst[c] == C_WAIT ->
		votes[c] = votes[c] | B(k);
		if :: r -> ro[c] = ro[c] | B(k) :: else -> skip fi;
		if
		:: r -> printf("C%d: vote READ-ONLY from P%d\n", c, k)
		:: else -> printf("C%d: vote COMMIT from P%d\n", c, k)
		fi;
		if :: COMMIT_POINT(c) -> c_commit_point(c) :: else -> skip fi
	:: else -> skip                 /* late vote */
	fi
}

/* in doubt: ask Pk (DESIGN 3) -- with R8's side effect, INIT or no record
   forces ABORT first.  All yes -> COMMIT; an ABORT -> ABORT (lazy: it
   follows a participant's forced ABORT).  A participant that does not
   answer is a question not asked yet: C stays in doubt. */
inline c_ask(c, k) {
	if
	:: STALE(k, EP(c)) -> REFUSE(k, EP(c))
	:: else ->
		SEE(k, EP(c));
		if
		:: pst[k] == P_READY || pst[k] == P_COMMIT ->
			asked[c] = asked[c] | B(k);
			printf("C%d: in doubt, P%d answers READY/COMMIT\n", c, k)
		:: pst[k] == P_RO ->
			asked[c] = asked[c] | B(k);
			ro[c] = ro[c] | B(k);
			printf("C%d: in doubt, P%d answers READ-ONLY\n", c, k)
		:: pst[k] == P_ABORT || pst[k] == P_NONE || pst[k] == P_INIT ->
			if
			:: pst[k] != P_ABORT -> printf("C%d: in doubt, P%d: no record/INIT, forces ABORT\n", c, k)
			:: else -> skip
			fi;
			PLOG(k, L_ABORT);       /* R8: forced before it answers */
			pst[k] = P_ABORT;
			printf("C%d: in doubt: ABORT -> ABORT\n", c);
			c_abort(c)
		fi;
		if
		:: cst[c] == C_DOUBT && asked[c] == ALL ->
			A2_VALIDITY_C;
			CDEC(L_COMMIT);
			cst[c] = C_COMMIT;
			acked[c] = ro[c];
			SEND_DC_SET(ALL & ~ro[c], EP(c));
			printf("C%d: in doubt: all yes -> COMMIT (lazy), GLOBAL_COMMITs out\n", c);
			if :: acked[c] == ALL -> cst[c] = C_DONE :: else -> skip fi
		:: else -> skip
		fi
	fi
}

/* the process stops: did its pending writes (WAIT forced but not yet
   returned, the lazy COMMIT, ABORT, END) reach the disk?  In write order. */
inline c_lazy(c) {
	votes[c] = 0;
	ro[c] = 0;
	asked[c] = 0;
	acked[c] = 0;
	if
	:: cst[c] == C_WAIT && clog[LG(c)] == L_NONE -> if :: CLOG(L_WAIT) :: skip fi
	:: cst[c] == C_ABORT && clog[LG(c)] != L_ABORT ->
		if
		:: CLOG(L_ABORT)
		:: clog[LG(c)] == L_NONE && submitted -> CLOG(L_WAIT)
		:: skip
		fi
	:: (cst[c] == C_COMMIT || cst[c] == C_DONE) && clog[LG(c)] == L_NONE ->
		if :: CLOG(L_WAIT) :: skip fi   /* (BUG_GLOBAL_BEFORE_WAIT only) */
	:: cst[c] == C_COMMIT && clog[LG(c)] == L_WAIT -> if :: CLOG(L_COMMIT) :: skip fi
	:: cst[c] == C_DONE && clog[LG(c)] == L_WAIT ->
		if :: CLOG(L_COMMIT) :: CLOG(L_END) :: skip fi
	:: cst[c] == C_DONE && clog[LG(c)] == L_COMMIT -> if :: CLOG(L_END) :: skip fi
	:: else -> skip
	fi
}

/* restart recovery from the log (DESIGN 3: coordinator on restart) */
inline c_recover(c) {
	if
	:: clog[LG(c)] == L_NONE ->
		cst[c] = C_NOREC                /* WAIT never durable: answers ABORT */
	:: clog[LG(c)] == L_WAIT ->
#ifndef BUG_RESTART_PRESUMES_ABORT
		cst[c] = C_DOUBT                /* ask every participant */
#else
		c_abort(c)                      /* (broken) the rule until the commit
		                                   point moved to the votes */
#endif
	:: clog[LG(c)] == L_ABORT ->
		c_abort(c)
	:: clog[LG(c)] == L_COMMIT ->
		/* COMMIT not END -> resend GLOBAL_COMMIT until every ACK (a
		   READ-ONLY voter ACKs it too) */
		cst[c] = C_COMMIT;
		SEND_DC_SET(ALL, EP(c))
	:: clog[LG(c)] == L_END ->
		cst[c] = C_DONE
	fi
}

#ifndef INCARN
/* crash, restart at once, recovery */
inline c_crash(c) {
	crashes++;
	c_lazy(c);
	c_recover(c);
	printf("C%d: restarted, log %d -> state %d\n", c, clog[LG(c)], cst[c])
}
#define C_UP(c) submitted
#define C_WANTS(s)
#else
/* the process dies (a supervisor or an operator may start one later) */
#ifndef NO_LOG_LOCK
#define C_UNLOCK(c) if :: lk[LG(c)] == (c) + 1 -> lk[LG(c)] = 0 :: else -> skip fi
#define C_LOCK_FREE(c) (lk[LG(c)] == 0)
#define C_LOCK(c) lk[LG(c)] = (c) + 1
#else
#define C_UNLOCK(c) skip        /* (broken) no lock, address bound after recovery */
#define C_LOCK_FREE(c) true
#define C_LOCK(c) skip
#endif
inline c_stop(c) {
	c_lazy(c);
	cst[c] = C_OFF;
	cep[c] = 0;
	C_UNLOCK(c)
}
inline c_crash(c) {
	crashes++;
	c_stop(c);
	printf("C%d: dies\n", c)
}
#define C_UP(c) (cst[c] != C_OFF && cst[c] != C_IDLE)
/* votes and ACKs are replies: only the incarnation waiting for them takes
   them (a dead one's are dropped with its sockets) */
#define C_WANTS(s) && cst[c] == (s)
#ifdef COPY
/* slot 1 runs on a copy of log 0, taken when it first starts, while slot 0
   runs: the freshest copy there can be (a pending write of slot 0 may or
   may not be in it) */
inline c_copy() {
	clog[1] = clog[0];
	cepoch[1] = cepoch[0];
	if
	:: cst[0] == C_WAIT && clog[0] == L_NONE -> if :: clog[1] = L_WAIT :: skip fi
	:: cst[0] == C_ABORT && clog[0] != L_ABORT ->
		if :: clog[1] = L_ABORT :: clog[0] == L_NONE -> clog[1] = L_WAIT :: skip fi
	:: cst[0] == C_COMMIT && clog[0] == L_WAIT -> if :: clog[1] = L_COMMIT :: skip fi
	:: cst[0] == C_DONE && clog[0] == L_WAIT ->
		if :: clog[1] = L_COMMIT :: clog[1] = L_END :: skip fi
	:: cst[0] == C_DONE && clog[0] == L_COMMIT -> if :: clog[1] = L_END :: skip fi
	:: else -> skip
	fi;
	copied = 1;
	printf("log 0 copied to log 1 (state %d, epoch %d) while C0 runs\n", clog[1], cepoch[1])
}
#define C_MAY_START(c) ((c) == 1 && submitted && (copied || cst[0] != C_OFF))
#else
#define C_MAY_START(c) ((c) == 1 && submitted)
#endif
/* Slot 0 is not restarted: the process started after it (by a supervisor
   or an operator) is slot 1, which may start at any moment during the run,
   and restarts after its own crashes. */
#endif

proctype Coord(byte c)
{
	byte k;
end:
	do
	/* SUBMIT: WAIT forced (naming every participant) while the
	   VOTE_REQUESTs go out */
	:: atomic { cst[c] == C_IDLE && !submitted ->
			submitted = 1;
			cst[c] = C_WAIT;
			vr = ALL;
			printf("C%d: SUBMIT, VOTE_REQUESTs out, WAIT being forced\n", c)
		}

	/* the WAIT fsync returns */
	:: atomic { cst[c] == C_WAIT && clog[LG(c)] == L_NONE ->
			CLOG(L_WAIT);
			printf("C%d: WAIT durable\n", c);
			if :: COMMIT_POINT(c) -> c_commit_point(c) :: else -> skip fi;
			A1_ATOMICITY
		}

	/* VOTE_COMMIT; with WAIT durable the last yes vote is the commit point */
	:: atomic { vc != 0 C_WANTS(C_WAIT) ->
			pick(vc, k);
			TAKE(vc, k);
			c_yes(c, k, 0);
			A1_ATOMICITY;
			k = 0
		}

	/* VOTE_READONLY: a yes vote; that participant has no phase two */
	:: atomic { vro != 0 C_WANTS(C_WAIT) ->
			pick(vro, k);
			TAKE(vro, k);
			c_yes(c, k, 1);
			A1_ATOMICITY;
			k = 0
		}

	/* VOTE_ABORT: decide ABORT at once; the ABORT row stays lazy (the NO
	   voter forced its ABORT before voting, R2) */
	:: atomic { va != 0 C_WANTS(C_WAIT) ->
			pick(va, k);
			TAKE(va, k);
			if
			:: cst[c] == C_WAIT ->
				printf("C%d: VOTE_ABORT from P%d -> ABORT (not forced)\n", c, k);
				TELL(c, T_ABORT);
				c_abort(c)
			:: else -> skip
			fi;
			A1_ATOMICITY;
			k = 0
		}

	/* vote timeout: a missing or late vote means ABORT, decided here alone:
	   forced first */
	:: atomic { cst[c] == C_WAIT ->
			printf("C%d: vote timeout -> ABORT (forced)\n", c);
			c_abort_own(c);
			A1_ATOMICITY
		}

	/* in doubt: ask one participant (answers may come in any order; one
	   that is unreachable is asked again later) */
	:: atomic { cst[c] == C_DOUBT ->
#ifndef ASK_IN_ORDER
			if
			:: !(asked[c] & 1) -> k = 0
			:: !(asked[c] & 2) -> k = 1
			:: !(asked[c] & 4) -> k = 2
			fi;
#else
			if
			:: !(asked[c] & 1) -> k = 0
			:: else -> if :: !(asked[c] & 2) -> k = 1 :: else -> k = 2 fi
			fi;
#endif
			c_ask(c, k);
			A1_ATOMICITY;
			k = 0
		}

	/* ACK; the last one ends the transaction (END row lazy).
	   Crashing in C_COMMIT with one ACK in is coordinator.after_first_global;
	   with the GLOBALs out and END not yet on disk, after_all_globals. */
	:: atomic { ack != 0 C_WANTS(C_COMMIT) ->
			pick(ack, k);
			TAKE(ack, k);
			if
			:: cst[c] == C_COMMIT ->
				acked[c] = acked[c] | B(k);
				printf("C%d: ACK from P%d\n", c, k);
				if
				:: acked[c] == ALL -> cst[c] = C_DONE; printf("C%d: all ACKed, END\n", c)
				:: else -> skip
				fi
			:: else -> skip
			fi;
			A1_ATOMICITY;
			k = 0
		}

#ifdef LIVENESS
	/* resend timer: GLOBAL_COMMIT to whoever has not ACKed */
	:: atomic { cst[c] == C_COMMIT && QUIET -> dc = dc | (ALL & ~acked[c]) }
#endif

#ifdef FORGET
	/* the lazy END row reaches the disk (with the lazy COMMIT before it) */
	:: atomic { cst[c] == C_DONE && clog[LG(c)] != L_END -> CLOG(L_END); printf("C%d: END on disk\n", c) }
	/* R9: END recorded -> FORGET to every participant (lazy, batched) */
	:: atomic { cst[c] == C_DONE && FORGET_OK ->
			fg = ALL; cst[c] = C_FORGET; printf("C%d: FORGET sent\n", c) }
	/* R7 retention over: drop the END record (not a change of decision) */
	:: atomic { cst[c] == C_FORGET && clog[LG(c)] == L_END && C_RETENTION_OK ->
			clog[LG(c)] = L_NONE; cst[c] = C_NOREC; printf("C%d: END record dropped\n", c) }
#endif

#ifdef INCARN
	/* a coordinator process starts: it takes the log's lock (and binds its
	   address) before it reads the log, forces a new epoch, then recovers */
	:: atomic { cst[c] == C_OFF && !(gone & B(c)) && C_MAY_START(c) ->
#ifdef COPY
			if :: c == 1 && !copied -> c_copy() :: else -> skip fi;
#endif
			if
			:: C_LOCK_FREE(c) ->
				C_LOCK(c);
				cepoch[LG(c)]++;        /* forced before anything is issued */
				assert(cepoch[LG(c)] < 6);     /* pickE's range */
				cep[c] = cepoch[LG(c)];
				c_recover(c);
				printf("C%d: starts on log %d, epoch %d, log state %d -> state %d\n",
				       c, LG(c), cep[c], clog[LG(c)], cst[c])
			:: else ->
				printf("C%d: log locked, waits\n", c)   /* blocked */
			fi;
			A1_ATOMICITY
		}

	/* a refusal carrying a higher epoch reaches this incarnation: it stops
	   deciding and exits; a client it was serving and had not answered gets
	   "outcome unknown" (RESULT leaves at the decision, so a refusal can
	   no longer withhold it) */
	:: atomic { cst[c] != C_OFF && (fz & B(cep[c])) ->
			printf("C%d: refused, a higher epoch exists -> stops deciding, exits\n", c);
#if !defined(NO_LOG_LOCK) && !defined(COPY)
			/* with the lock on one log, two coordinators never run at once:
			   a refusal only ever goes to a dead incarnation */
			assert(A8_one_live && false);
#endif
			if
			:: cep[c] == RUN_EPOCH && told == T_NONE ->
				printf("C%d: fenced, client gets outcome unknown\n", c)
			:: else -> skip
			fi;
			gone = gone | B(c);
			c_stop(c);
			A1_ATOMICITY
		}
#endif

	/* crash in a stable state */
	:: atomic { C_UP(c) && CAN_CRASH ->
			if
			:: cst[c] == C_COMMIT && (acked[c] == 1 || acked[c] == 2 || acked[c] == 4) ->
				CRASH_AT("CRASH coordinator.after_first_global\n")
			:: cst[c] == C_COMMIT && !(acked[c] == 1 || acked[c] == 2 || acked[c] == 4) ->
				CRASH_AT("CRASH coordinator.after_all_globals\n")
			:: cst[c] == C_DONE || cst[c] == C_FORGET ->
				CRASH_AT("CRASH coordinator (END lazy)\n")
			:: cst[c] == C_WAIT && votes[c] == ALL && clog[LG(c)] == L_NONE ->
				CRASH_AT("CRASH coordinator.before_decision_logged\n")
			:: cst[c] == C_WAIT && !(votes[c] == ALL && clog[LG(c)] == L_NONE) ->
				CRASH_AT("CRASH coordinator (WAIT)\n")
			:: cst[c] == C_DOUBT ->
				CRASH_AT("CRASH coordinator (in doubt)\n")
			:: cst[c] == C_ABORT || cst[c] == C_NOREC ->
				CRASH_AT("CRASH coordinator (ABORT / no record)\n")
			fi;
			A1_ATOMICITY
		}
	od
}

/* the coordinator (slot c) answers a DECISION_REQUEST from Pi (termination) */
inline c_answer(c, i) {
	if
	:: cst[c] == C_COMMIT || cst[c] == C_DONE || cst[c] == C_FORGET ->
		SEND_DC(i, EP(c)); printf("C%d: P%d asks -> COMMIT\n", c, i)
	:: cst[c] == C_ABORT ->
		SEND_DA(i, EP(c)); printf("C%d: P%d asks -> ABORT\n", c, i)
	:: cst[c] == C_NOREC ->
#ifndef BUG_NOREC_SILENT
		/* presumed abort: no record (WAIT never durable) answers ABORT */
		CDEC(L_ABORT);
		SEND_DA(i, EP(c));
		printf("C%d: P%d asks, no record -> ABORT\n", c, i)
#else
		printf("C%d: P%d asks, no record -> (no answer)\n", c, i)   /* (broken) */
#endif
	:: cst[c] == C_WAIT ->
		/* before the commit point: decide ABORT (forced) or undecided */
		if
		:: printf("C%d: P%d asks in WAIT -> decides ABORT\n", c, i); c_abort_own(c)
		:: printf("C%d: P%d asks in WAIT -> undecided\n", c, i)
		fi
	:: cst[c] == C_DOUBT ->
		/* an earlier incarnation may have passed the commit point: only
		   the participants' answers decide */
#ifndef BUG_INDOUBT_ABORT
		printf("C%d: P%d asks in doubt -> undecided\n", c, i)
#else
		if
		:: printf("C%d: P%d asks in doubt -> decides ABORT (forced)\n", c, i);
			CLOG(L_ABORT); c_abort(c)       /* (broken) */
		:: printf("C%d: P%d asks in doubt -> undecided\n", c, i)
		fi
#endif
	:: cst[c] == C_IDLE -> assert(false)    /* nobody is READY before SUBMIT */
	fi
}

/* ======================= participants ======================= */

/* crash, restart, recovery of Pi (DESIGN 3: participant on restart) */
inline p_crash(i) {
	crashes++;
	/* did the pending lazy write (INIT row, ABORT) reach the disk? */
	if
	:: pst[i] == P_INIT && plog[i] == L_NONE -> if :: PLOG(i, L_INIT) :: skip fi
	:: pst[i] == P_ABORT && plog[i] != L_ABORT -> if :: PLOG(i, L_ABORT) :: skip fi
	:: else -> skip
	fi;
	if
	:: plog[i] == L_NONE   -> pst[i] = P_NONE
	:: plog[i] == L_INIT   -> pst[i] = P_ABORT     /* INIT -> ABORT (lazy) */
	:: plog[i] == L_READY  -> pst[i] = P_READY     /* ask for the decision */
	:: plog[i] == L_COMMIT -> pst[i] = P_COMMIT    /* ACK when asked */
	:: plog[i] == L_ABORT  -> pst[i] = P_ABORT
	:: plog[i] == L_RO     -> pst[i] = P_RO
	fi;
	RESTORE_HI(i);
	printf("P%d: restarted, log %d -> state %d\n", i, plog[i], pst[i])
}

#define P_CRASH_AT(msg, i) printf(msg, i); p_crash(i)

/* Pk answers a termination question from Pi from its log (DESIGN 4) */
inline p_answer(k, i) {
	if
	:: pst[k] == P_COMMIT ->
		SEND_DC(i, 0); printf("P%d: P%d asks -> COMMIT\n", k, i)
	:: pst[k] == P_READY ->
		printf("P%d: P%d asks -> READY (no help)\n", k, i)
	:: pst[k] == P_RO ->
		/* voted yes, knows no decision: an ABORT here could abort what
		   the others commit */
		printf("P%d: P%d asks -> READ-ONLY (no help)\n", k, i)
	:: pst[k] == P_ABORT ->
		PLOG(k, L_ABORT);                       /* R8: forced before it leaves */
		SEND_DA(i, 0); saidA = 1;
		printf("P%d: P%d asks -> ABORT\n", k, i)
	:: pst[k] == P_NONE || pst[k] == P_INIT ->
		/* INIT or no record: force ABORT first, so that a late
		   VOTE_REQUEST gets VOTE_ABORT */
#ifndef BUG_INIT_ABORT_NOT_FORCED
		PLOG(k, L_ABORT); pst[k] = P_ABORT;
#endif
		SEND_DA(i, 0); saidA = 1;
		printf("P%d: P%d asks, INIT/no record -> ABORT\n", k, i)
	fi
}

/* a NO vote: ABORT forced before VOTE_ABORT leaves (R2) */
#ifndef BUG_NO_VOTE_LAZY
#define P_FORCE_NO(i) PLOG(i, L_ABORT)
#else
#define P_FORCE_NO(i) skip      /* (broken) lazy: lost in a crash */
#endif

proctype Part(byte i)
{
	byte k;
	byte e;         /* (INCARN) epoch of the message being handled */
end:
	do
	/* VOTE_REQUEST (first, duplicate or late) */
	:: atomic { vr & B(i) ->
			TAKE(vr, i);
			if
			:: STALE(i, RUN_EPOCH) -> REFUSE(i, RUN_EPOCH)
			:: else -> SEE(i, RUN_EPOCH)
			fi;
			if
			:: STALE(i, RUN_EPOCH) -> skip
			:: else ->
				if
				:: pst[i] == P_NONE ->
					pst[i] = P_INIT;        /* stage work, lock keys; INIT row lazy */
#ifdef BUG_VOTE_BEFORE_READY
					vc = vc | B(i);         /* (broken) votes before READY is forced */
#endif
					printf("P%d: VOTE_REQUEST, INIT\n", i)
				:: pst[i] == P_INIT -> skip     /* still staging */
				:: pst[i] == P_READY || pst[i] == P_COMMIT ->
					vc = vc | B(i)          /* the same vote again */
				:: pst[i] == P_RO ->
					vro = vro | B(i)        /* the same vote again */
				:: pst[i] == P_ABORT ->
					P_FORCE_NO(i);
					va = va | B(i); printf("P%d: VOTE_REQUEST in ABORT -> VOTE_ABORT\n", i)
				fi
			fi
		}

	/* staging done, the resource votes.  Crashing in P_INIT is
	   participant.before_ready_logged. */
	:: atomic { pst[i] == P_INIT ->
			if
			:: PLOG(i, L_READY);            /* forced (R1) */
				everYes = everYes | B(i);
				printf("P%d: READY forced\n", i);
				if
				:: CAN_CRASH -> P_CRASH_AT("CRASH participant.after_ready_logged (P%d)\n", i)
				:: true ->
					vc = vc | B(i);
					pst[i] = P_READY;
					printf("P%d: VOTE_COMMIT sent\n", i)
				fi
			:: RO_VOTERS & B(i) ->
				/* nothing to write: note forced, locks released, leaves */
				PLOG(i, L_RO);
				everYes = everYes | B(i);
				pst[i] = P_RO;
				vro = vro | B(i);
				printf("P%d: votes READ-ONLY (note forced)\n", i)
			:: P_FORCE_NO(i);               /* forced (R2) */
				va = va | B(i);
				pst[i] = P_ABORT;
				printf("P%d: votes ABORT\n", i)
			fi;
			A1_ATOMICITY
		}

	/* COMMIT: GLOBAL_COMMIT, or a COMMIT answer from C or a peer.
	   Crashing in P_READY is participant.after_vote_sent. */
	:: atomic { HAS_DC(i) ->
			RECV_DC(i);
			if
			:: STALE(i, e) -> REFUSE(i, e)
			:: else -> SEE(i, e); printf("P%d: gets COMMIT\n", i)
			fi;
			if
			:: STALE(i, e) -> skip
			:: else ->
				if
				:: pst[i] == P_READY ->
					A4_NOT_ALONE(L_COMMIT);
					if
					:: CAN_CRASH -> P_CRASH_AT("CRASH participant.before_commit_applied (P%d)\n", i)
					:: true ->
						A2_VALIDITY_P;
						A6_ONCE(i);
						PLOG(i, L_COMMIT);      /* apply workspace + COMMIT, one txn (R3) */
						printf("P%d: COMMIT forced\n", i);
						if
						:: CAN_CRASH -> P_CRASH_AT("CRASH participant.after_commit_applied (P%d)\n", i)
						:: true -> ack = ack | B(i); pst[i] = P_COMMIT
						fi
					fi
				:: pst[i] == P_COMMIT || pst[i] == P_RO ->
					ack = ack | B(i)                /* R4: ACK again; READ-ONLY: nothing to do */
#ifdef ACK_UNKNOWN_COMMIT
				:: pst[i] == P_NONE ->
					/* (proposed rule, DESIGN is silent) COMMIT for a txid with
					   no record: it can only be one committed and forgotten
					   here (R9); ACK it, apply nothing */
					A5_AGREE(applied & B(i) || everYes & B(i));
					ack = ack | B(i)
				:: pst[i] == P_INIT || pst[i] == P_ABORT ->
					A5_AGREE(false)
#else
				:: else ->
					A5_AGREE(false)                 /* COMMIT reaches NONE/INIT/ABORT */
#endif
				fi
			fi;
			A1_ATOMICITY;
			e = 0
		}

	/* ABORT: GLOBAL_ABORT, or an ABORT answer */
	:: atomic { HAS_DA(i) ->
			RECV_DA(i);
			if
			:: STALE(i, e) -> REFUSE(i, e)
			:: else -> SEE(i, e); printf("P%d: gets ABORT\n", i)
			fi;
			if
			:: STALE(i, e) -> skip
			:: else ->
				if
				:: pst[i] == P_READY ->
					A4_NOT_ALONE(L_ABORT);
					pst[i] = P_ABORT                /* lazy */
				:: pst[i] == P_NONE || pst[i] == P_INIT ->
					pst[i] = P_ABORT
				:: pst[i] == P_ABORT || pst[i] == P_RO -> skip
				:: pst[i] == P_COMMIT -> A5_AGREE(false)
				fi
			fi;
			A1_ATOMICITY;
			e = 0
		}

	/* decision timeout in READY: ask the coordinator or a peer */
#ifndef LIVENESS
	:: atomic { pst[i] == P_READY ->
			printf("P%d: asks\n", i);
			if
			:: ASK_C(i)
			:: i != 0 -> p_answer(0, i)
			:: i != 1 -> p_answer(1, i)
			:: i != 2 -> p_answer(2, i)
			fi;
			A1_ATOMICITY
		}
#else
	/* (liveness: when all is quiet, ask the coordinator and every peer) */
	:: atomic { pst[i] == P_READY && QUIET ->
			printf("P%d: asks everybody\n", i);
			c_answer(0, i);
			if :: i != 0 -> p_answer(0, i) :: else -> skip fi;
			if :: i != 1 -> p_answer(1, i) :: else -> skip fi;
			if :: i != 2 -> p_answer(2, i) :: else -> skip fi;
			A1_ATOMICITY
		}
#endif
#ifdef BUG_READY_DECIDES_ALONE
	/* (broken) decision timeout: abort unilaterally */
	:: atomic { pst[i] == P_READY ->
			printf("P%d: decision timeout, aborts ALONE\n", i);
			A4_NOT_ALONE(L_ABORT);
			pst[i] = P_ABORT;
			A1_ATOMICITY
		}
#endif

#ifdef FORGET
	/* R9: FORGET from the coordinator: drop the COMMIT record or the
	   READ-ONLY note */
	:: atomic { (fg & B(i)) && P_RETENTION_OK(i) ->
			TAKE(fg, i);
			if
			:: pst[i] == P_COMMIT || pst[i] == P_RO ->
				plog[i] = L_NONE; pst[i] = P_NONE;
				printf("P%d: FORGET, COMMIT record / READ-ONLY note dropped\n", i)
			:: else -> skip
			fi
		}
	/* R9: an ABORT record is dropped after its retention */
	:: atomic { pst[i] == P_ABORT && plog[i] == L_ABORT && P_RETENTION_OK(i) &&
	            cst[0] != C_WAIT ->
			plog[i] = L_NONE; pst[i] = P_NONE;
			printf("P%d: ABORT record dropped (retention)\n", i)
		}
#ifdef BUG_RO_NOTE_DROPPED
	/* (broken) a READ-ONLY note dropped after the vote round, like an
	   ABORT record, before END */
	:: atomic { pst[i] == P_RO && P_RETENTION_OK(i) && cst[0] != C_WAIT ->
			plog[i] = L_NONE; pst[i] = P_NONE;
			printf("P%d: READ-ONLY note dropped before END\n", i)
		}
#endif
#ifdef BUG_COMMIT_DROPPED
	/* (broken) a COMMIT record dropped once ACKed, before END */
	:: atomic { pst[i] == P_COMMIT && P_RETENTION_OK(i) && !(ack & B(i)) ->
			plog[i] = L_NONE; pst[i] = P_NONE;
			printf("P%d: COMMIT record dropped after the ACK, before END\n", i)
		}
#endif
#endif

	/* crash in a stable state */
	:: atomic { pst[i] != P_NONE && CAN_CRASH ->
			if
			:: pst[i] == P_INIT  -> P_CRASH_AT("CRASH participant.before_ready_logged (P%d)\n", i)
			:: pst[i] == P_READY -> P_CRASH_AT("CRASH participant.after_vote_sent (P%d)\n", i)
			:: pst[i] == P_COMMIT || pst[i] == P_ABORT || pst[i] == P_RO ->
				P_CRASH_AT("CRASH participant (decided or read-only) (P%d)\n", i)
			fi;
			A1_ATOMICITY
		}
	od
}

/* ======================= network: loss ======================= */

#define LOSE(m) :: atomic { lost < MAXLOSS && (m) != 0 -> \
	 pick(m, k); m = m & ~B(k); lost++; printf("NET: a message is lost\n"); k = 0 }

proctype Net()
{
	byte k;
end:
	do
	LOSE(vr)
	LOSE(vc)
	LOSE(vro)
	LOSE(va)
#ifndef INCARN
	LOSE(dc)
	LOSE(da)
#endif
	LOSE(ack)
#ifdef FORGET
	LOSE(fg)
#endif
	od
}

#ifdef INCARN
#if defined(LIVENESS) || defined(FORGET)
#error "INCARN is a safety model without FORGET"
#endif
#endif

init {
	atomic {
#ifdef INCARN
		/* slot 0 runs from the start: lock taken, epoch 1 forced */
		lk[0] = 1;
		cepoch[0] = RUN_EPOCH;
		cep[0] = RUN_EPOCH;
		cst[1] = C_OFF;
#endif
		run Coord(0);
#ifdef INCARN
		run Coord(1);
#endif
		run Part(0);
		run Part(1);
		run Part(2);
		run Net()
	}
}
