/*
 * vercel-today (Vercel Workflow v4 as shipped) with N requests for one key, every request using
 * the reject strategy (SUPERSEDE = 0) or the supersede strategy (SUPERSEDE = 1, ATTEMPTS claim
 * attempts). Written to match the Python model step for step (model/profiles/base.py V4World with
 * atomic_release = true; simulator/strategies/vercel_today.py StartClient / StartAndAwaitClient,
 * RejectBody / SupersedeBody; simulator/system.py): ONE Promela process whose loop offers, as
 * d_step options, exactly the actions System.successors offers (arrive reqI, reqI, rK), each one
 * atomic transition. So SPIN's "states stored" is the number of distinct Python SystemStates.
 *
 * The state vector holds what SystemState holds, encoded injectively:
 *   world   runs (status, request, output), the one key's hooks (one token: hook[r]),
 *           effects (run ids in execution order: key and request are functions of the run,
 *           the tick is always 0), cancels (by, victim in order);
 *   procs   client phase and run id (a finished client's outcome is a function of the run it
 *           awaited, which is terminal and never changes again); body phase, attempt and owner;
 *   arrivals the order requests arrived (Python tracks it only when newest-wins is checked, i.e.
 *           for supersede; all arrive at tick 0, so "arrived" is the client phase being non-zero).
 * Unused fields are always 0, so equal Python states give equal vectors.
 *
 * Properties (each a REQUIRE on a flag named after its Python property, reported once;
 * spin/crosscheck.py reads which fail):
 *   single-owner, at-most-once-effect, no-wasted-run, newest-wins (invariant, plus its settle
 *   check on final states via timeout), no-failed-request, no-reclaim-race. result-matches-owner,
 *   no-lost-signal, no-stranded-run, no-silent-loss and the token liveness properties hold
 *   vacuously here (no strategy adopts results, sends payloads, fails an owner or retains a
 *   token), and are not modelled.
 *
 * Build:  spin -o2 -a -DN=3 -DSUPERSEDE=1 vercel_today.pml && gcc -O2 -DSAFETY -DNOREDUCE -o pan pan.c
 * Run:    ./pan -c0 -n      (-c0: do not stop at a violation: count every state)
 * (spin -a warns "'timeout' in d_step sequence": it is the d_step's guard, as intended: newest-wins'
 * final-state check runs when nothing else can move, as one transition back to the same state.)
 */

#ifndef N
#define N 2
#endif
#ifndef SUPERSEDE
#define SUPERSEDE 0
#endif
#ifndef ATTEMPTS
#define ATTEMPTS 3
#endif

/* run status */
#define NONE      0
#define PENDING   1
#define RUNNING   2
#define COMPLETED 3
#define FAILED    4
#define CANCELLED 5
#define TERMINAL(s) ((s) >= COMPLETED)

/* run output */
#define O_NONE   0
#define O_RESULT 1   /* ("result", workflow, key, request) */
#define O_DUP    2   /* ("duplicate-of", owner): owner in routv */
#define O_CNC    3   /* "could not claim" (a failed run's error) */

/* client phases */
#define C_ABSENT 0
#define C_START  1   /* CreateRun pending */
#define C_AWAIT  2   /* AwaitRun(crun) pending (supersede's client awaits its run) */
#define C_DONE   3

/* body phases (locals of KeyedBody / RejectBody / SupersedeBody) */
#define B_START     1   /* ("start",)            StartRun */
#define B_RECHECK   2   /* ("recheck",)          GetRun */
#define B_CLAIM     3   /* ("claim",[attempt])   ClaimHook */
#define B_RECLAIM   4   /* ("reclaim-check",)    GetRun */
#define B_WORK      5   /* ("work",)             PerformEffect */
#define B_COMPLETE  6   /* ("complete", output)  CompleteRun: output in bout/bown */
#define B_CANCEL    7   /* ("cancel", attempt, owner) CancelRun(owner, by=me) */
#define B_FAIL      8   /* ("fail", "could not claim") FailRun */
#define B_DONE      9   /* ("done",) Done(outcome): outcome in bout/bown */

/* body Done outcomes (bout when B_DONE) and pending outputs (bout when B_COMPLETE) */
#define D_RESULT 1       /* ok(result) */
#define D_DUP    2       /* ok(("duplicate-of", owner)) */
#define D_ENDED  3       /* ok(("ended", "cancelled")) */
#define D_FAILED 4       /* error("failed", "could not claim") */

/* world */
byte nruns;
byte rstat[N + 1];
byte rreq[N + 1];
byte rout[N + 1];
byte routv[N + 1];
bool hook[N + 1];
byte neff;
byte eff[N + 1];
byte ncan;
byte cby[N * ATTEMPTS + 1];
byte cvic[N * ATTEMPTS + 1];
/* processes */
byte cph[N + 1];
byte crun[N + 1];
byte bph[N + 1];
byte batt[N + 1];
byte bown[N + 1];
byte bout[N + 1];
/* arrival order (ghost, supersede only) */
byte nord;
byte ord[N + 1];

/* scratch: `hidden` keeps them out of the state vector (and every step resets them anyway) */
hidden byte holder;   /* the token's holder, 0 if free */
hidden byte i, j, ri, rj, t, r, q;

/* One flag per property: 1 until its first violation. pan -c0 goes on after a violation (so it
 * counts every reachable state, as the Python BFS does), and REQUIRE asserts only while the flag
 * is up, so each violated property is reported once ("assertion violated <property>") instead of
 * once per violating state. Hidden: not part of the state vector, so the count is unchanged. */
hidden byte single_owner = 1, at_most_once_effect = 1, no_wasted_run = 1, newest_wins = 1,
           no_failed_request = 1, no_reclaim_race = 1;
#define REQUIRE(p, e) if :: p && !(e) -> p = 0; assert(p) :: else -> skip fi

inline find_holder() {
  holder = 0;
  t = 1;
  do
  :: t <= N -> if :: hook[t] -> holder = t :: else -> skip fi; t++
  :: else -> break
  od
}

inline rank(req, out) {
  out = 0;
  t = 0;
  do
  :: t < nord -> if :: ord[t] == req -> out = t + 1 :: else -> skip fi; t++
  :: else -> break
  od
}

/* terminal transition of run r to status s with output o (V4World._end, atomic release) */
inline end_run(r, s, o) {
  rstat[r] = s; rout[r] = o; hook[r] = 0
}

inline invariants() {
  /* single-owner: one token, so at most one live hook */
  t = 0; i = 1;
  do
  :: i <= N -> if :: hook[i] -> t++ :: else -> skip fi; i++
  :: else -> break
  od;
  REQUIRE(single_owner, t <= 1);
  /* at-most-once-effect: one key, one workflow, every arrival at tick 0 (inside any window) */
  REQUIRE(at_most_once_effect, neff <= 1);
  /* no-wasted-run: a completed run whose output says it was a duplicate */
  i = 1;
  do
  :: i <= N -> REQUIRE(no_wasted_run, !(rstat[i] == COMPLETED && rout[i] == O_DUP)); i++
  :: else -> break
  od;
#if SUPERSEDE
  /* newest-wins: no run cancelled on behalf of an older request than its own */
  j = 0;
  do
  :: j < ncan ->
       rank(rreq[cby[j]], ri); rank(rreq[cvic[j]], rj);
       REQUIRE(newest_wins, !(ri < rj));
       j++
  :: else -> break
  od;
  /* no-reclaim-race: no run cancels one owner and then another (the ABA shape); a victim is
   * cancelled once at most, so two cancels by one run name two victims */
  i = 0;
  do
  :: i < ncan ->
       j = i + 1;
       do
       :: j < ncan -> REQUIRE(no_reclaim_race, cby[i] != cby[j]); j++
       :: else -> break
       od;
       i++
  :: else -> break
  od;
  /* no-failed-request: a client saw its run fail */
  i = 1;
  do
  :: i <= N -> REQUIRE(no_failed_request, !(cph[i] == C_DONE && rstat[crun[i]] == FAILED)); i++
  :: else -> break
  od;
#endif
  i = 0; j = 0; ri = 0; rj = 0; t = 0
}

#if SUPERSEDE
inline settle() {
  /* newest-wins settle: the newest request's run did the key's last effect */
  REQUIRE(newest_wins, nord == 0 || (neff > 0 && rreq[eff[neff - 1]] == ord[nord - 1]));
  t = 0
}
#endif

inline after_start(r) {
  bph[r] = B_CLAIM; batt[r] = (SUPERSEDE -> 1 : 0); bown[r] = 0; bout[r] = 0
}

inline own(r) {
  bph[r] = B_WORK; batt[r] = 0; bown[r] = 0; bout[r] = 0
}

inline done(r, outcome, owner) {
  bph[r] = B_DONE; batt[r] = 0; bout[r] = outcome; bown[r] = owner
}

/* one step of run r's body (its pending op, then on_result) */
inline body_step() {
   if
   :: bph[r] == B_START ->
        if
        :: rstat[r] == PENDING -> rstat[r] = RUNNING; after_start(r)
        :: else -> bph[r] = B_RECHECK
        fi
   :: bph[r] == B_RECHECK || bph[r] == B_RECLAIM ->
        if
        :: TERMINAL(rstat[r]) -> done(r, D_ENDED, 0)
        :: else -> if :: bph[r] == B_RECHECK -> after_start(r) :: else -> own(r) fi
        fi
   :: bph[r] == B_CLAIM ->
        find_holder();
        if
        :: TERMINAL(rstat[r]) || hook[r] -> bph[r] = B_RECLAIM; batt[r] = 0
        :: holder != 0 ->
             if
             :: SUPERSEDE -> bph[r] = B_CANCEL; bown[r] = holder
             :: else -> bph[r] = B_COMPLETE; bout[r] = D_DUP; bown[r] = holder
             fi
        :: else -> hook[r] = 1; own(r)
        fi;
        holder = 0
   :: bph[r] == B_WORK -> eff[neff] = r; neff++; bph[r] = B_COMPLETE; bout[r] = D_RESULT
   :: bph[r] == B_COMPLETE ->
        if
        :: TERMINAL(rstat[r]) -> done(r, D_ENDED, 0)
        :: else ->
             if
             :: bout[r] == D_RESULT -> end_run(r, COMPLETED, O_RESULT)
             :: else -> end_run(r, COMPLETED, O_DUP); routv[r] = bown[r]
             fi;
             done(r, bout[r], bown[r])
        fi
   :: bph[r] == B_CANCEL ->
        q = bown[r];
        if
        :: !TERMINAL(rstat[q]) -> cby[ncan] = r; cvic[ncan] = q; ncan++; end_run(q, CANCELLED, O_NONE)
        :: else -> skip
        fi;
        q = 0;
        if
        :: batt[r] < ATTEMPTS -> bph[r] = B_CLAIM; batt[r]++; bown[r] = 0
        :: else -> bph[r] = B_FAIL; batt[r] = 0; bown[r] = 0
        fi
   :: bph[r] == B_FAIL ->
        if
        :: TERMINAL(rstat[r]) -> done(r, D_ENDED, 0)
        :: else -> end_run(r, FAILED, O_CNC); done(r, D_FAILED, 0)
        fi
   fi
}

/* The options of request/run K (1 <= K <= N); one copy per K below (Promela has no loop over
 * d_step options, and an index variable in the guard would not be the same transition system). */
#define ARRIVE(K) \
  :: d_step { (cph[K] == C_ABSENT) -> cph[K] = C_START; \
       if :: SUPERSEDE -> ord[nord] = K; nord++ :: else -> skip fi; invariants() }
/* reqK: CreateRun -> Ok(run id); the new run's body starts at ("start",) */
#define CREATE(K) \
  :: d_step { (cph[K] == C_START) -> q = K; nruns++; rstat[nruns] = PENDING; rreq[nruns] = q; \
       bph[nruns] = B_START; crun[q] = nruns; cph[q] = (SUPERSEDE -> C_AWAIT : C_DONE); \
       q = 0; invariants() }
/* reqK: AwaitRun(run) blocks until the run is terminal, then the client is done */
#define AWAIT(K) \
  :: d_step { (cph[K] == C_AWAIT && TERMINAL(rstat[crun[K]])) -> cph[K] = C_DONE; invariants() }
/* rK: one step of run K's body (bodies never block in these strategies) */
#define BODY(K) \
  :: d_step { (bph[K] != 0 && bph[K] != B_DONE) -> r = K; body_step(); r = 0; invariants() }

active proctype system() {
end:
  do
  ARRIVE(1)
  ARRIVE(2)
#if N >= 3
  ARRIVE(3)
#endif
#if N >= 4
  ARRIVE(4)
#endif
#if N >= 5
  ARRIVE(5)
#endif
  CREATE(1)
  CREATE(2)
#if N >= 3
  CREATE(3)
#endif
#if N >= 4
  CREATE(4)
#endif
#if N >= 5
  CREATE(5)
#endif
  AWAIT(1)
  AWAIT(2)
#if N >= 3
  AWAIT(3)
#endif
#if N >= 4
  AWAIT(4)
#endif
#if N >= 5
  AWAIT(5)
#endif
  BODY(1)
  BODY(2)
#if N >= 3
  BODY(3)
#endif
#if N >= 4
  BODY(4)
#endif
#if N >= 5
  BODY(5)
#endif
#if SUPERSEDE
  :: d_step { timeout -> settle() }
#endif
  od
}
