/*
 * locks.pml -- the lock waits of DESIGN R5: two transactions that share a
 * key at each of two participants.  Checked exhaustively by run.sh beside
 * this file (README.md: "Lock waits").
 *
 * T0 is the older run, T1 the younger (order of runs: coordinator epoch,
 * then sequence).  Each transaction stages work on the one key k at P0 and
 * at P1; the VOTE_REQUESTs arrive in any order.  At a participant the key
 * is free (lock it, READY, vote COMMIT), or held by the other transaction,
 * which is then READY (staging and READY are one step here): the newcomer
 * waits for the holder's decision where the rule allows it, otherwise it
 * votes ABORT at once.  A coordinator decides COMMIT on two COMMIT votes,
 * ABORT on a NO vote; phase two releases its locks at both participants.
 * A transaction that waits at a participant for a holder whose decision
 * releases the key goes on; one whose own decision (ABORT) comes first
 * stops waiting.
 *
 * Waits are unbounded here: the vote timeout bounds them in the protocol,
 * which turns a deadlock into an ABORT of both after the timeout (this
 * model checks that no deadlock needs that bound).  Crashes and the
 * network are the protocol model's business (twopc.pml), not this one's.
 *
 * Rules
 *   default               R5 from the votes on: wait only for an older
 *                         READY holder (younger -> older); otherwise ABORT
 *   -DBUG_WAIT_BOTH_WAYS  (broken) wait for any READY holder: a cycle
 *   -DNO_WAIT             the rule before the commit point moved to the
 *                         votes: never wait, ABORT at once
 * Properties
 *   end states            no deadlock: every run ends with both decided
 *   L1_progress           of two conflicting transactions at least one
 *                         commits (the wait buys this; NO_WAIT loses it)
 */

#define NT 2            /* transactions: T0 older, T1 younger */
#define NP 2            /* participants P0, P1 */
#define BOTH 3
#define B(k) (1 << (k))

#define D_NONE   0
#define D_COMMIT 1
#define D_ABORT  2

byte holder[NP];        /* the key at each participant: 0 free, else holder t + 1 */
byte yes[NT];           /* bit p: Pp voted COMMIT for Tt (READY, key locked) */
byte no[NT];            /* bit p: Pp voted ABORT for Tt */
byte dec[NT];           /* Tt's decision */

bit L1_progress = 1;

/* may T wait for holder H (both READY, H holds the key)? */
#ifdef BUG_WAIT_BOTH_WAYS
#define MAY_WAIT(t, h) true             /* (broken) any direction */
#elif defined(NO_WAIT)
#define MAY_WAIT(t, h) false
#else
#define MAY_WAIT(t, h) ((h) < (t))      /* only for an older holder */
#endif

/* the VOTE_REQUEST of Tt at Pp */
proctype Stage(byte t; byte p)
{
	bool waits;
	do
	:: atomic { holder[p] == 0 && dec[t] == D_NONE ->
			holder[p] = t + 1;
			yes[t] = yes[t] | B(p);
			printf("P%d: T%d locks k, READY, votes COMMIT\n", p, t);
			break
		}
	:: atomic { holder[p] != 0 && holder[p] != t + 1 && dec[t] == D_NONE &&
	            !MAY_WAIT(t, holder[p] - 1) ->
			no[t] = no[t] | B(p);
			printf("P%d: T%d meets T%d on k -> votes ABORT\n", p, t, holder[p] - 1);
			break
		}
	:: atomic { dec[t] != D_NONE ->
			printf("P%d: T%d decided while waiting, stops\n", p, t);
			break
		}
	/* otherwise (a holder it may wait for): it waits, blocked until the
	   key is free or its own decision comes */
	:: atomic { !waits && holder[p] != 0 && holder[p] != t + 1 && dec[t] == D_NONE &&
	            MAY_WAIT(t, holder[p] - 1) ->
			waits = 1;
			printf("P%d: T%d meets T%d on k -> waits for its decision\n", p, t, holder[p] - 1)
		}
	od
}

/* the coordinator of Tt; phase two releases Tt's keys */
proctype Coord(byte t)
{
	if
	:: atomic { yes[t] == BOTH -> dec[t] = D_COMMIT; printf("T%d: COMMIT\n", t) }
	:: atomic { no[t] != 0 && dec[t] == D_NONE -> dec[t] = D_ABORT; printf("T%d: ABORT\n", t) }
	fi;
	atomic {
		if :: holder[0] == t + 1 -> holder[0] = 0 :: else -> skip fi;
		if :: holder[1] == t + 1 -> holder[1] = 0 :: else -> skip fi;
		assert(L1_progress && !(dec[0] == D_ABORT && dec[1] == D_ABORT))
	}
}

init {
	atomic {
		run Coord(0);
		run Coord(1);
		run Stage(0, 0);
		run Stage(0, 1);
		run Stage(1, 0);
		run Stage(1, 1)
	}
}
