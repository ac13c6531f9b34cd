/*
 * twopc.pml -- Promela model of the twopc protocol (DESIGN.md sections 2-4, 8).
 *
 * One transaction; a coordinator C and three participants P0, P1, P2.
 * Checked exhaustively with SPIN by run.sh beside this file; README.md says
 * what is modelled, what is abstracted and what was measured.
 *
 * State
 *   durable   clog, plog[]: the SQLite txn rows; they survive a crash.
 *   volatile  cst, pst[], votes, acked: lost at a crash; recovery rebuilds
 *             them from the durable log only (DESIGN section 3).
 *   network   one bit per (message kind, participant) in flight.  Delivery
 *             is in any order and may be delayed for ever; a delivery may
 *             leave the message in flight (a duplicate, at most MAXDUP per
 *             run); the Net process may lose a message (at most MAXLOSS per
 *             run).
 *
 * Forced and lazy writes
 *   A forced write changes clog/plog at once.  A lazy write (participant
 *   INIT row and ABORT, coordinator WAIT row, ABORT and END) only changes the
 *   volatile state; when the process crashes, each pending lazy write either
 *   reached the disk or did not (a nondeterministic choice in the crash
 *   step), which covers every timing of the lazy write before the crash.
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
 *   answerer's side effects (C in WAIT may decide ABORT; a peer in INIT or
 *   with no record forces ABORT); the answer travels back through the
 *   faulty network.  Answers that carry nothing ("undecided" from C, READY
 *   from a peer) change nothing and are not sent.
 *
 * Modes
 *   default      safety.  Assertions A1..A6 below, invalid end states.
 *   -DLIVENESS   the same protocol, but retries (decision timeout, resend of
 *                GLOBAL_COMMIT) fire only when nothing else can happen
 *                (eventual synchrony: once the bounded faults are spent,
 *                timeouts are longer than message delays; messages in flight
 *                are eventually delivered).  LTL property `live`: eventually,
 *                for ever, no participant is INIT or READY and the
 *                coordinator is not in WAIT or in COMMIT-without-END.
 *
 * Broken variants (each one change; run.sh expects each to FAIL)
 *   -DBUG_INIT_ABORT_NOT_FORCED  INIT/no-record peer answers ABORT unforced
 *   -DBUG_READY_DECIDES_ALONE    READY participant aborts on its own timeout
 *   -DBUG_GLOBAL_BEFORE_FORCE    GLOBAL_COMMIT leaves before COMMIT is forced
 *   -DBUG_VOTE_BEFORE_READY      VOTE_COMMIT leaves before READY is forced
 *   -DBUG_NOREC_SILENT           (liveness) a coordinator with no record does
 *                                not answer ABORT to a DECISION_REQUEST
 *
 * Forgetting (R9), an extension: -DFORGET adds the lazy END reaching the
 * disk, FORGET messages, dropping a participant's COMMIT on FORGET, dropping
 * an ABORT after its retention and the coordinator's END after its
 * retention, under a retention assumption that DESIGN does not state (see
 * P_RETENTION_OK).  Variants:
 *   -DFORGET_ANYTIME             records dropped without that assumption
 *   -DBUG_FORGET_BEFORE_END      FORGET sent before END is on disk
 *   -DACK_UNKNOWN_COMMIT         a participant ACKs a COMMIT for a txid it has
 *                                no record of (a rule DESIGN does not have)
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

#define N    3
#define ALL  7
#define B(k) (1 << (k))

/* ---- log records (SQLite txn.state) ---- */
#define L_NONE   0      /* no record of the txid */
#define L_INIT   1      /* participant: INIT row (lazy) */
#define L_WAIT   1      /* coordinator: WAIT row (lazy) */
#define L_READY  2      /* participant: READY + workspace (forced, R1) */
#define L_COMMIT 3      /* forced (R2 at C, R3 at P) */
#define L_ABORT  4      /* lazy, except before it is reported (R8) */
#define L_END    5      /* coordinator: lazy */

/* ---- participant volatile state ---- */
#define P_NONE   0      /* no record (never asked, or restarted with none) */
#define P_INIT   1      /* VOTE_REQUEST taken, work being staged */
#define P_READY  2      /* READY forced, VOTE_COMMIT sent (or recovered) */
#define P_COMMIT 3      /* COMMIT forced and ACKed */
#define P_ABORT  4      /* aborted (durable only if plog says so) */

/* ---- coordinator volatile state ---- */
#define C_IDLE   0      /* the client has not submitted yet */
#define C_WAIT   1      /* VOTE_REQUESTs out, collecting votes */
#define C_COMMIT 2      /* COMMIT forced, GLOBAL_COMMITs out, collecting ACKs */
#define C_ABORT  3      /* decided ABORT (presumed abort: not forced) */
#define C_DONE   4      /* every ACK in: END (lazy) */
#define C_NOREC  5      /* restarted with no record of the txid */
#define C_FORGET 6      /* (FORGET) END on disk and FORGET sent */

/* ---------------- durable ---------------- */
byte clog;
byte plog[N];
bool submitted;         /* the client's one SUBMIT was accepted (R7 resubmission
                           of a txid is not modelled) */

/* ---------------- volatile ---------------- */
byte cst;
byte votes;             /* VOTE_COMMITs received in WAIT */
byte acked;             /* ACKs received in COMMIT */
byte pst[N];

/* ---------------- network: bit k = message to / from Pk in flight ------- */
byte vr;                /* VOTE_REQUEST   C -> Pk */
byte vc;                /* VOTE_COMMIT    Pk -> C */
byte va;                /* VOTE_ABORT     Pk -> C */
byte dc;                /* COMMIT -> Pk: GLOBAL_COMMIT, or a COMMIT answer
                           (DECISION_REPLY) from C or from a peer */
byte da;                /* ABORT -> Pk: GLOBAL_ABORT, or an ABORT answer */
byte ack;               /* ACK            Pk -> C */
#ifdef FORGET
byte fg;                /* FORGET         C -> Pk (R9) */
#endif
/* A participant treats GLOBAL_COMMIT and a COMMIT answer alike (once
   committed it ACKs both; the coordinator may count that ACK, which means
   "COMMIT forced"), and GLOBAL_ABORT and an ABORT answer alike: one bit per
   (decision, receiver) suffices. */

/* ---------------- fault budgets ---------------- */
byte crashes;
byte lost;
byte dups;

/* ---------------- ghosts, for the properties only ---------------- */
byte cdec;              /* the decision the coordinator took or announced */
bool saidA;             /* some participant answered a peer ABORT */
byte everReady;         /* bit k: Pk has forced READY at some time */
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

#define PC(k) (plog[k] == L_COMMIT)
#define PA(k) (plog[k] == L_ABORT || pst[k] == P_ABORT)

/* A1 atomicity: never COMMIT at one participant and ABORT at another, and
   the coordinator's decision never disagrees with a participant's. */
#define ANY_PC (PC(0) || PC(1) || PC(2))
#define ANY_PA (PA(0) || PA(1) || PA(2))
#define A1_ATOMICITY \
	assert(A1_atomicity && !(ANY_PC && ANY_PA)); \
	assert(A1_atomicity && !(cdec == L_COMMIT && ANY_PA)); \
	assert(A1_atomicity && !(cdec == L_ABORT && ANY_PC))

/* A2 validity: COMMIT is forced by the coordinator only if every participant
   forced READY (ghost everReady), and by a participant only after the
   coordinator's COMMIT. */
#define A2_VALIDITY_C assert(A2_validity && everReady == ALL)
#define A2_VALIDITY_P assert(A2_validity && cdec == L_COMMIT)

/* A3 stability: a durable decision is never overwritten with another value;
   the coordinator never takes or announces one decision and later another. */
#define CLOG(v) \
	assert(A3_stability && !(clog == L_COMMIT && (v) != L_COMMIT && (v) != L_END)); \
	assert(A3_stability && !(clog == L_END && (v) != L_END)); \
	assert(A3_stability && !(clog == L_ABORT && (v) != L_ABORT)); \
	clog = v
#define PLOG(k, v) \
	assert(A3_stability && !(plog[k] == L_COMMIT && (v) != L_COMMIT)); \
	assert(A3_stability && !(plog[k] == L_ABORT && (v) != L_ABORT)); \
	assert(A3_stability && !(plog[k] == L_READY && ((v) == L_NONE || (v) == L_INIT))); \
	plog[k] = v
#define CDEC(v) assert(A3_stability && (cdec == 0 || cdec == (v))); cdec = v

/* A4 no READY participant decides alone: it decides v only if the
   coordinator decided v or a peer answered v. */
#define A4_NOT_ALONE(v) assert(A4_not_alone && (cdec == (v) || ((v) == L_ABORT && saidA)))

/* A5 no disagreement: a decision never reaches a participant that holds the
   other one (DESIGN 4: "can only come from a bug or a stale message"); a
   COMMIT never reaches one that did not vote COMMIT. */
#define A5_AGREE(c) assert(A5_agreement && (c))

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

/* deliver bit k of m: consume it, or leave a duplicate in flight */
#define TAKE(m, k) if :: m = m & ~B(k) :: dups < MAXDUP -> dups++ fi

/* a crash may happen here (inside a step) */
#define CAN_CRASH (crashes < MAXCRASH)

#ifdef LIVENESS
#define NET_EMPTY (vr == 0 && vc == 0 && va == 0 && dc == 0 && da == 0 && ack == 0)
/* nothing but a timeout (or a fault) can happen */
#define QUIET (NET_EMPTY && cst != C_IDLE && cst != C_WAIT && \
	pst[0] != P_INIT && pst[1] != P_INIT && pst[2] != P_INIT)
#endif

#ifdef FORGET
/* FORGET is sent once END is on disk (DESIGN: "after the coordinator has
   recorded END") */
#ifndef BUG_FORGET_BEFORE_END
#define FORGET_OK (clog == L_END)
#else
#define FORGET_OK true          /* (broken) as soon as END is decided in memory */
#endif
/* Retention assumption (not stated in DESIGN): a record is dropped only when
   no message of the transaction to that process is still in flight (the
   retention outlives every message), and an ABORT only after the vote
   timeout (the coordinator has left WAIT). */
#ifndef FORGET_ANYTIME
#define P_RETENTION_OK(i) (!(vr & B(i)) && !(dc & B(i)) && !(da & B(i)))
#define C_RETENTION_OK (vr == 0 && dc == 0 && da == 0 && vc == 0 && va == 0 && ack == 0 && fg == 0)
#else
#define P_RETENTION_OK(i) true
#define C_RETENTION_OK true
#endif
#endif

#define PDONE(k) (pst[k] == P_NONE || pst[k] == P_COMMIT || pst[k] == P_ABORT)
#define DONE (PDONE(0) && PDONE(1) && PDONE(2) && \
	(cst == C_DONE || cst == C_ABORT || cst == C_NOREC || cst == C_FORGET))

#ifdef LIVENESS
ltl live { <> [] DONE }
#endif

/* ======================= coordinator ======================= */

/* decide ABORT: vote timeout, a VOTE_ABORT, a question in WAIT, or recovery
   of WAIT.  Presumed abort: the ABORT row is lazy.  GLOBAL_ABORT to all,
   once, never retried (a participant that misses it asks). */
inline c_abort() {
	CDEC(L_ABORT);
	cst = C_ABORT;
	da = da | ALL
}

/* crash, restart, recovery (DESIGN 3: coordinator on restart) */
inline c_crash() {
	crashes++;
	votes = 0;
	acked = 0;
	/* did the pending lazy writes reach the disk? */
	if
	:: cst == C_WAIT && clog == L_NONE -> if :: CLOG(L_WAIT) :: skip fi
	:: cst == C_ABORT && clog != L_ABORT -> if :: CLOG(L_ABORT) :: skip fi
	:: cst == C_DONE && clog == L_COMMIT -> if :: CLOG(L_END) :: skip fi
	:: else -> skip
	fi;
	if
	:: clog == L_NONE ->
		cst = C_NOREC           /* nothing to do; answers ABORT */
	:: clog == L_WAIT || clog == L_ABORT ->
		c_abort()               /* WAIT without decision -> ABORT */
	:: clog == L_COMMIT ->
		/* COMMIT not END -> resend GLOBAL_COMMIT until every ACK */
		cst = C_COMMIT;
		dc = dc | ALL
	:: clog == L_END ->
		cst = C_DONE
	fi;
	printf("C: restarted, log %d -> state %d\n", clog, cst)
}

#define CRASH_AT(msg) printf(msg); c_crash()

proctype Coord()
{
	byte k;
end:
	do
	/* SUBMIT: WAIT row (lazy), VOTE_REQUEST to every participant */
	:: atomic { cst == C_IDLE && !submitted ->
			submitted = 1;
			cst = C_WAIT;
			vr = ALL;
			printf("C: SUBMIT, WAIT, VOTE_REQUESTs out\n")
		}

	/* VOTE_COMMIT; the last one decides COMMIT */
	:: atomic { vc != 0 ->
			pick(vc, k);
			TAKE(vc, k);
			if
			:: cst == C_WAIT ->
				votes = votes | B(k);
				printf("C: VOTE_COMMIT from P%d\n", k);
				if
				:: votes == ALL ->
#ifdef BUG_GLOBAL_BEFORE_FORCE
					dc = ALL; CDEC(L_COMMIT); /* (broken) GLOBAL_COMMIT leaves first */
#endif
					if
					:: CAN_CRASH -> CRASH_AT("CRASH coordinator.before_decision_logged\n")
					:: true ->
						A2_VALIDITY_C;
						CLOG(L_COMMIT);         /* forced (R2) */
						CDEC(L_COMMIT);
						cst = C_COMMIT;
						printf("C: COMMIT forced\n");
						if
						:: CAN_CRASH -> CRASH_AT("CRASH coordinator.after_decision_logged\n")
						:: true ->
							dc = ALL;       /* GLOBAL_COMMIT to all */
							printf("C: GLOBAL_COMMITs out\n")
						fi
					fi
				:: else -> skip
				fi
			:: else -> skip                 /* late vote */
			fi;
			A1_ATOMICITY;
			k = 0
		}

	/* VOTE_ABORT: decide ABORT at once */
	:: atomic { va != 0 ->
			pick(va, k);
			TAKE(va, k);
			if
			:: cst == C_WAIT -> printf("C: VOTE_ABORT from P%d\n", k); c_abort()
			:: else -> skip
			fi;
			A1_ATOMICITY;
			k = 0
		}

	/* vote timeout: a missing or late vote means ABORT */
	:: atomic { cst == C_WAIT -> printf("C: vote timeout -> ABORT\n"); c_abort(); A1_ATOMICITY }

	/* ACK; the last one ends the transaction (END row lazy).
	   Crashing in C_COMMIT with one ACK in is coordinator.after_first_global;
	   with the GLOBALs out and END not yet on disk, after_all_globals. */
	:: atomic { ack != 0 ->
			pick(ack, k);
			TAKE(ack, k);
			if
			:: cst == C_COMMIT ->
				acked = acked | B(k);
				printf("C: ACK from P%d\n", k);
				if
				:: acked == ALL -> cst = C_DONE; printf("C: all ACKed, END\n")
				:: else -> skip
				fi
			:: else -> skip
			fi;
			A1_ATOMICITY;
			k = 0
		}

#ifdef LIVENESS
	/* resend timer: GLOBAL_COMMIT to whoever has not ACKed */
	:: atomic { cst == C_COMMIT && QUIET -> dc = dc | (ALL & ~acked) }
#endif

#ifdef FORGET
	/* the lazy END row reaches the disk */
	:: atomic { cst == C_DONE && clog == L_COMMIT -> CLOG(L_END); printf("C: END on disk\n") }
	/* R9: END recorded -> FORGET to every participant (lazy, batched) */
	:: atomic { cst == C_DONE && FORGET_OK ->
			fg = ALL; cst = C_FORGET; printf("C: FORGET sent\n") }
	/* R7 retention over: drop the END record (not a change of decision) */
	:: atomic { cst == C_FORGET && clog == L_END && C_RETENTION_OK ->
			clog = L_NONE; cst = C_NOREC; printf("C: END record dropped\n") }
#endif

	/* crash in a stable state */
	:: atomic { submitted && CAN_CRASH ->
			if
			:: cst == C_COMMIT && (acked == 1 || acked == 2 || acked == 4) ->
				CRASH_AT("CRASH coordinator.after_first_global\n")
			:: cst == C_COMMIT && !(acked == 1 || acked == 2 || acked == 4) ->
				CRASH_AT("CRASH coordinator.after_all_globals\n")
			:: cst == C_DONE || cst == C_FORGET ->
				CRASH_AT("CRASH coordinator (END lazy)\n")
			:: cst == C_WAIT ->
				CRASH_AT("CRASH coordinator (WAIT)\n")
			:: cst == C_ABORT || cst == C_NOREC ->
				CRASH_AT("CRASH coordinator (ABORT / no record)\n")
			fi
		}
	od
}

/* the coordinator answers a DECISION_REQUEST from Pi (termination) */
inline c_answer(i) {
	if
	:: cst == C_COMMIT || cst == C_DONE || cst == C_FORGET ->
		dc = dc | B(i); printf("C: P%d asks -> COMMIT\n", i)
	:: cst == C_ABORT ->
		da = da | B(i); printf("C: P%d asks -> ABORT\n", i)
	:: cst == C_NOREC ->
#ifndef BUG_NOREC_SILENT
		/* presumed abort: no record answers ABORT */
		CDEC(L_ABORT);
		da = da | B(i);
		printf("C: P%d asks, no record -> ABORT\n", i)
#else
		printf("C: P%d asks, no record -> (no answer)\n", i)   /* (broken) */
#endif
	:: cst == C_WAIT ->
		if
		:: printf("C: P%d asks in WAIT -> decides ABORT\n", i); c_abort()
		:: printf("C: P%d asks in WAIT -> undecided\n", i)
		fi
	:: cst == C_IDLE -> assert(false)       /* nobody is READY before SUBMIT */
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
	fi;
	printf("P%d: restarted, log %d -> state %d\n", i, plog[i], pst[i])
}

#define P_CRASH_AT(msg, i) printf(msg, i); p_crash(i)

/* Pk answers a termination question from Pi from its log (DESIGN 4) */
inline p_answer(k, i) {
	if
	:: pst[k] == P_COMMIT ->
		dc = dc | B(i); printf("P%d: P%d asks -> COMMIT\n", k, i)
	:: pst[k] == P_READY ->
		printf("P%d: P%d asks -> READY (no help)\n", k, i)
	:: pst[k] == P_ABORT ->
		PLOG(k, L_ABORT);                       /* R8: forced before it leaves */
		da = da | B(i); saidA = 1;
		printf("P%d: P%d asks -> ABORT\n", k, i)
	:: pst[k] == P_NONE || pst[k] == P_INIT ->
		/* INIT or no record: force ABORT first, so that a late
		   VOTE_REQUEST gets VOTE_ABORT */
#ifndef BUG_INIT_ABORT_NOT_FORCED
		PLOG(k, L_ABORT); pst[k] = P_ABORT;
#endif
		da = da | B(i); saidA = 1;
		printf("P%d: P%d asks, INIT/no record -> ABORT\n", k, i)
	fi
}

proctype Part(byte i)
{
	byte k;
end:
	do
	/* VOTE_REQUEST (first, duplicate or late) */
	:: atomic { vr & B(i) ->
			TAKE(vr, i);
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
			:: pst[i] == P_ABORT ->
				va = va | B(i); printf("P%d: VOTE_REQUEST in ABORT -> VOTE_ABORT\n", i)
			fi
		}

	/* staging done, the resource votes.  Crashing in P_INIT is
	   participant.before_ready_logged. */
	:: atomic { pst[i] == P_INIT ->
			if
			:: PLOG(i, L_READY);            /* forced (R1) */
				everReady = everReady | B(i);
				printf("P%d: READY forced\n", i);
				if
				:: CAN_CRASH -> P_CRASH_AT("CRASH participant.after_ready_logged (P%d)\n", i)
				:: true ->
					vc = vc | B(i);
					pst[i] = P_READY;
					printf("P%d: VOTE_COMMIT sent\n", i)
				fi
			:: va = va | B(i);              /* VOTE_ABORT, nothing forced */
				pst[i] = P_ABORT;
				printf("P%d: votes ABORT\n", i)
			fi;
			A1_ATOMICITY
		}

	/* COMMIT: GLOBAL_COMMIT, or a COMMIT answer from C or a peer.
	   Crashing in P_READY is participant.after_vote_sent. */
	:: atomic { dc & B(i) ->
			TAKE(dc, i);
			printf("P%d: gets COMMIT\n", i);
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
			:: pst[i] == P_COMMIT ->
				ack = ack | B(i)                /* R4: ACK again */
#ifdef ACK_UNKNOWN_COMMIT
			:: pst[i] == P_NONE ->
				/* (proposed rule, DESIGN is silent) COMMIT for a txid with
				   no record: it can only be one committed and forgotten
				   here (R9); ACK it, apply nothing */
				A5_AGREE(applied & B(i));
				ack = ack | B(i)
			:: pst[i] == P_INIT || pst[i] == P_ABORT ->
				A5_AGREE(false)
#else
			:: else ->
				A5_AGREE(false)                 /* COMMIT reaches NONE/INIT/ABORT */
#endif
			fi;
			A1_ATOMICITY
		}

	/* ABORT: GLOBAL_ABORT, or an ABORT answer */
	:: atomic { da & B(i) ->
			TAKE(da, i);
			printf("P%d: gets ABORT\n", i);
			if
			:: pst[i] == P_READY ->
				A4_NOT_ALONE(L_ABORT);
				pst[i] = P_ABORT                /* lazy */
			:: pst[i] == P_NONE || pst[i] == P_INIT ->
				pst[i] = P_ABORT
			:: pst[i] == P_ABORT -> skip
			:: pst[i] == P_COMMIT -> A5_AGREE(false)
			fi;
			A1_ATOMICITY
		}

	/* decision timeout in READY: ask the coordinator or a peer */
#ifndef LIVENESS
	:: atomic { pst[i] == P_READY ->
			printf("P%d: asks\n", i);
			if
			:: c_answer(i)
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
			c_answer(i);
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
	/* R9: FORGET from the coordinator: drop the COMMIT record */
	:: atomic { (fg & B(i)) && P_RETENTION_OK(i) ->
			TAKE(fg, i);
			if
			:: pst[i] == P_COMMIT ->
				plog[i] = L_NONE; pst[i] = P_NONE;
				printf("P%d: FORGET, COMMIT record dropped\n", i)
			:: else -> skip
			fi
		}
	/* R9: an ABORT record is dropped after its retention */
	:: atomic { pst[i] == P_ABORT && plog[i] == L_ABORT && P_RETENTION_OK(i) &&
	            cst != C_WAIT ->
			plog[i] = L_NONE; pst[i] = P_NONE;
			printf("P%d: ABORT record dropped (retention)\n", i)
		}
#endif

	/* crash in a stable state */
	:: atomic { pst[i] != P_NONE && CAN_CRASH ->
			if
			:: pst[i] == P_INIT  -> P_CRASH_AT("CRASH participant.before_ready_logged (P%d)\n", i)
			:: pst[i] == P_READY -> P_CRASH_AT("CRASH participant.after_vote_sent (P%d)\n", i)
			:: pst[i] == P_COMMIT || pst[i] == P_ABORT ->
				P_CRASH_AT("CRASH participant (decided) (P%d)\n", i)
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
	LOSE(va)
	LOSE(dc)
	LOSE(da)
	LOSE(ack)
#ifdef FORGET
	LOSE(fg)
#endif
	od
}

init {
	atomic {
		run Coord();
		run Part(0);
		run Part(1);
		run Part(2);
		run Net()
	}
}
