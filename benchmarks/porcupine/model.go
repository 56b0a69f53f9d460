// The sequential specification of profile "vercel-keyed-start" (model/profiles/base.py V4World
// and model/profiles/vercel_keyed.py), restricted to the operations the concurrent workload
// issues, and the step of backends/validate/linearizability.py (Checker.step): the model op
// applied with its run ids renamed into the model's, its answer compared with the recorded one
// up to the renaming (a backend run id is bound to a model run id the first time an answer names
// it), an operation with no response accepting any answer.
//
// Our own code (not Porcupine's): main.go hands it to Porcupine as a porcupine.Model whose state
// is (world, renaming), the search state of our checker.
//
// Representation. Every identifier string (workflow, key, token, hook id, status, error name)
// is interned into one table sorted by the strings' order (Python compares str by code point;
// Go compares UTF-8 bytes: the same order), so comparing two ids is comparing the strings.
// Opaque Python values (payloads, outputs, errors, Ok's value, an error's detail) are a Val:
// None, an int, or the repr of anything else (str and tuples of str/int/None: the exporter
// refuses other values), interned; equal Vals are equal Python values for those types.
package main

import "math"

// Val is an opaque Python value: None, an int, or an interned repr.
type Val struct {
	K uint8 // valNone, valInt, valRepr
	I int64 // the int, or the repr's index in the value table
}

const (
	valNone uint8 = iota
	valInt
	valRepr
)

var none = Val{}

// OpKind is the type of a model op (model/ops.py).
type OpKind uint8

const (
	opKeyedStart OpKind = iota
	opStartRun
	opClaimHook
	opDeliverPayload
	opPollPayload
	opDisposeHook
	opCompleteRun
	opFailRun
	opCancelRun
	opReleaseHooks
	opGetHookByToken
	opGetRun
	opListRuns
	opAdvanceClock
)

var opNames = map[string]OpKind{
	"KeyedStart":     opKeyedStart,
	"StartRun":       opStartRun,
	"ClaimHook":      opClaimHook,
	"DeliverPayload": opDeliverPayload,
	"PollPayload":    opPollPayload,
	"DisposeHook":    opDisposeHook,
	"CompleteRun":    opCompleteRun,
	"FailRun":        opFailRun,
	"CancelRun":      opCancelRun,
	"ReleaseHooks":   opReleaseHooks,
	"GetHookByToken": opGetHookByToken,
	"GetRun":         opGetRun,
	"ListRuns":       opListRuns,
	"AdvanceClock":   opAdvanceClock,
}

// Op is one operation as the client issued it: run ids are the backend's.
type Op struct {
	Kind     OpKind
	RunID    int64 // StartRun .. GetRun: a backend run id
	By       int64 // CancelRun.by (0: code outside any run)
	Workflow int32 // KeyedStart, ListRuns
	Request  int64 // KeyedStart
	Key      int32 // KeyedStart
	HookID   int32 // ClaimHook, DeliverPayload, PollPayload, DisposeHook
	Token    int32 // ClaimHook, GetHookByToken
	Status   int32 // ListRuns (noStr: None)
	Value    Val   // DeliverPayload.payload, CompleteRun.output, FailRun.error
}

// ResKind is the type of a result (model/ops.py).
type ResKind uint8

const (
	resOk ResKind = iota
	resHookCreated
	resHookConflict
	resHookInfo
	resRunInfo
	resRunList
	resPayload
	resStarted
	resExisting
	resError
	resOther // anything else a backend answered (Raised, ...): equal to no model result
)

var resNames = map[string]ResKind{
	"Ok":           resOk,
	"HookCreated":  resHookCreated,
	"HookConflict": resHookConflict,
	"HookInfo":     resHookInfo,
	"RunInfo":      resRunInfo,
	"RunList":      resRunList,
	"Payload":      resPayload,
	"Started":      resStarted,
	"Existing":     resExisting,
	"Error":        resError,
	"Other":        resOther,
}

// Result is an answer, the model's (model run ids) or the backend's (backend run ids).
type Result struct {
	Kind    ResKind
	ID      int64   // field 0 of Started, Existing, HookConflict, HookInfo, RunInfo
	Str     int32   // HookInfo.hook_id, RunInfo.workflow, Error.name
	Status  int32   // RunInfo.status, Existing.status
	Value   Val     // Ok.value, Payload.value, RunInfo/Existing.output, Error.detail
	Request int64   // RunInfo.request
	IDs     []int64 // RunList.run_ids
}

const noStr int32 = -1

// identifiers the model itself names (interned with the history's strings)
var (
	stPending, stRunning, stCompleted, stFailed, stCancelled            int32
	errRunNotFound, errEntityConflict, errHookNotFound, errHookConflict int32
	keyHookID                                                           int32
)

// Constants lists the strings above, for the interning table.
var Constants = []string{
	"pending", "running", "completed", "failed", "cancelled",
	"WorkflowRunNotFoundError", "EntityConflictError", "HookNotFoundError", "HookConflictError",
	"h1",
}

func setConstants(id func(string) int32) {
	stPending, stRunning, stCompleted = id("pending"), id("running"), id("completed")
	stFailed, stCancelled = id("failed"), id("cancelled")
	errRunNotFound, errEntityConflict = id("WorkflowRunNotFoundError"), id("EntityConflictError")
	errHookNotFound, errHookConflict = id("HookNotFoundError"), id("HookConflictError")
	keyHookID = id("h1")
}

func terminal(status int32) bool {
	return status == stCompleted || status == stFailed || status == stCancelled
}

func errorResult(name int32) Result { return Result{Kind: resError, Str: name} }

// -- the world (model/state.py), restricted to what these ops touch ----------------------------
// Run.attributes is always (), Hook.retain_until and KeyEntry.expires_at / extra always None,
// effects and records always empty: the exporter refuses ops that would set them.

type Run struct {
	ID        int64
	Workflow  int32
	Status    int32
	Request   int64
	Key       int32 // noStr: None
	Output    Val
	EndedAt   int64 // -1: None
	StartedAt int64
}

type Hook struct {
	Token  int32
	RunID  int64
	HookID int32
	Inbox  []Val
}

type KeyEntry struct {
	Key       int32
	RunID     int64
	ClaimedAt int64
}

type Sent struct {
	Payload Val
	RunID   int64
}

// World is immutable once built: every update copies what it changes (as the Python tuples).
type World struct {
	Clock     int64
	Runs      []Run // run i+1 at position i
	Hooks     []Hook
	Keys      []KeyEntry
	Delivered []Sent // ghost: (payload, run) in delivery order
	Consumed  []Sent
	Cancels   [][2]int64
}

func (w *World) run(id int64) *Run {
	if 1 <= id && id <= int64(len(w.Runs)) {
		return &w.Runs[id-1]
	}
	return nil
}

func (w *World) hookByToken(token int32) *Hook {
	for i := range w.Hooks {
		if w.Hooks[i].Token == token {
			return &w.Hooks[i]
		}
	}
	return nil
}

func (w *World) hookOf(runID int64, hookID int32) int {
	for i := range w.Hooks {
		if w.Hooks[i].RunID == runID && w.Hooks[i].HookID == hookID {
			return i
		}
	}
	return -1
}

func (w *World) keyEntry(key int32) *KeyEntry {
	for i := range w.Keys {
		if w.Keys[i].Key == key {
			return &w.Keys[i]
		}
	}
	return nil
}

func (w *World) clone() *World {
	c := *w
	return &c
}

func (w *World) withRun(r Run) *World {
	c := w.clone()
	c.Runs = append([]Run(nil), w.Runs...)
	c.Runs[r.ID-1] = r
	return c
}

// hookLess is tuple order on (token, run_id, hook_id); two live hooks never share a token
// (a claim and a keyed start both refuse a held token), so inboxes are never compared.
func hookLess(a, b *Hook) bool {
	if a.Token != b.Token {
		return a.Token < b.Token
	}
	if a.RunID != b.RunID {
		return a.RunID < b.RunID
	}
	return a.HookID < b.HookID
}

// withHook is with_hooks((*hooks, h)): the hooks kept sorted.
func (w *World) withHook(h Hook) *World {
	c := w.clone()
	hooks := make([]Hook, 0, len(w.Hooks)+1)
	placed := false
	for i := range w.Hooks {
		if !placed && hookLess(&h, &w.Hooks[i]) {
			hooks = append(hooks, h)
			placed = true
		}
		hooks = append(hooks, w.Hooks[i])
	}
	if !placed {
		hooks = append(hooks, h)
	}
	c.Hooks = hooks
	return c
}

// withKey is with_key: the entry of that key replaced, the entries sorted (keys are unique).
func (w *World) withKey(e KeyEntry) *World {
	c := w.clone()
	keys := make([]KeyEntry, 0, len(w.Keys)+1)
	placed := false
	for _, k := range w.Keys {
		if k.Key == e.Key {
			continue
		}
		if !placed && e.Key < k.Key {
			keys = append(keys, e)
			placed = true
		}
		keys = append(keys, k)
	}
	if !placed {
		keys = append(keys, e)
	}
	c.Keys = keys
	return c
}

func (w *World) dropHooks(runID int64) *World {
	found := false
	for i := range w.Hooks {
		if w.Hooks[i].RunID == runID {
			found = true
			break
		}
	}
	if !found {
		return w
	}
	c := w.clone()
	c.Hooks = make([]Hook, 0, len(w.Hooks))
	for _, h := range w.Hooks {
		if h.RunID != runID {
			c.Hooks = append(c.Hooks, h)
		}
	}
	return c
}

func appendSent(s []Sent, x Sent) []Sent {
	out := make([]Sent, len(s), len(s)+1)
	copy(out, s)
	return append(out, x)
}

// -- the profile -----------------------------------------------------------------------------

// Profile holds vercel-keyed-start's options.
type Profile struct {
	AtomicRelease bool
	Retention     int64
	FromClaim     bool // retention_from = "claim"
	ConflictError bool // duplicate = "conflict-error"
}

func runInfo(r *Run) Result {
	return Result{
		Kind: resRunInfo, ID: r.ID, Str: r.Workflow, Status: r.Status, Value: r.Output,
		Request: r.Request,
	}
}

// apply is Profile.apply on the op with its run ids already renamed (runID, by).
func (p *Profile) apply(w *World, op *Op, runID, by int64) (*World, Result) {
	switch op.Kind {
	case opKeyedStart:
		return p.keyedStart(w, op)
	case opStartRun:
		r := w.run(runID)
		if r == nil {
			return w, errorResult(errRunNotFound)
		}
		if r.Status != stPending { // START_RUNNING and START_ENDED are both ENTITY_CONFLICT
			return w, errorResult(errEntityConflict)
		}
		nr := *r
		nr.Status = stRunning
		return w.withRun(nr), Result{Kind: resOk}
	case opCompleteRun:
		return p.end(w, runID, stCompleted, op.Value)
	case opFailRun:
		return p.end(w, runID, stFailed, op.Value)
	case opCancelRun:
		r := w.run(runID)
		wasLive := r != nil && !terminal(r.Status)
		w2, res := p.end(w, runID, stCancelled, none)
		if by != 0 && wasLive {
			if w2 == w {
				w2 = w.clone()
			}
			w2.Cancels = append(append([][2]int64(nil), w2.Cancels...), [2]int64{by, runID})
		}
		return w2, res
	case opGetRun:
		r := w.run(runID)
		if r == nil {
			return w, errorResult(errRunNotFound)
		}
		return w, runInfo(r)
	case opListRuns:
		var ids []int64
		for i := range w.Runs {
			r := &w.Runs[i]
			if r.Workflow == op.Workflow && (op.Status == noStr || r.Status == op.Status) {
				ids = append(ids, r.ID)
			}
		}
		return w, Result{Kind: resRunList, IDs: ids}
	case opClaimHook:
		r := w.run(runID)
		if r == nil {
			return w, errorResult(errRunNotFound)
		}
		if terminal(r.Status) {
			return w, errorResult(errEntityConflict)
		}
		if w.hookOf(runID, op.HookID) >= 0 {
			return w, errorResult(errEntityConflict)
		}
		if holder := w.hookByToken(op.Token); holder != nil {
			return w, Result{Kind: resHookConflict, ID: holder.RunID}
		}
		return w.withHook(Hook{Token: op.Token, RunID: runID, HookID: op.HookID}),
			Result{Kind: resHookCreated}
	case opDeliverPayload:
		i := w.hookOf(runID, op.HookID)
		if i < 0 {
			return w, errorResult(errHookNotFound)
		}
		c := w.clone()
		c.Hooks = append([]Hook(nil), w.Hooks...)
		h := &c.Hooks[i]
		inbox := make([]Val, len(h.Inbox), len(h.Inbox)+1)
		copy(inbox, h.Inbox)
		h.Inbox = append(inbox, op.Value)
		c.Delivered = appendSent(w.Delivered, Sent{op.Value, runID})
		return c, Result{Kind: resOk}
	case opPollPayload:
		i := w.hookOf(runID, op.HookID)
		if i < 0 || len(w.Hooks[i].Inbox) == 0 {
			return w, Result{Kind: resOk}
		}
		c := w.clone()
		c.Hooks = append([]Hook(nil), w.Hooks...)
		h := &c.Hooks[i]
		payload := h.Inbox[0]
		h.Inbox = h.Inbox[1:] // shares the rest of the old inbox, never written in place
		c.Consumed = appendSent(w.Consumed, Sent{payload, runID})
		return c, Result{Kind: resPayload, Value: payload}
	case opDisposeHook:
		i := w.hookOf(runID, op.HookID)
		if i < 0 {
			return w, errorResult(errHookNotFound)
		}
		c := w.clone()
		c.Hooks = make([]Hook, 0, len(w.Hooks)-1)
		c.Hooks = append(append(c.Hooks, w.Hooks[:i]...), w.Hooks[i+1:]...)
		return c, Result{Kind: resOk}
	case opReleaseHooks:
		return w.dropHooks(runID), Result{Kind: resOk}
	case opGetHookByToken:
		h := w.hookByToken(op.Token)
		if h == nil {
			return w, errorResult(errHookNotFound)
		}
		return w, Result{Kind: resHookInfo, ID: h.RunID, Str: h.HookID}
	case opAdvanceClock: // Profile.tick: the clock moves, nothing else (Checker.step's Ok(clock))
		c := w.clone()
		c.Clock = w.Clock + 1
		return c, Result{Kind: resOk, Value: Val{valInt, c.Clock}}
	}
	panic("unported op kind")
}

func (p *Profile) end(w *World, runID int64, status int32, output Val) (*World, Result) {
	r := w.run(runID)
	if r == nil {
		return w, errorResult(errRunNotFound)
	}
	if terminal(r.Status) {
		if status == stCancelled && r.Status == stCancelled {
			return w, Result{Kind: resOk}
		}
		return w, errorResult(errEntityConflict)
	}
	nr := *r
	nr.Status, nr.Output, nr.EndedAt = status, output, w.Clock
	w = w.withRun(nr)
	if p.AtomicRelease {
		w = w.dropHooks(runID)
	}
	return w, Result{Kind: resOk}
}

// reserved is key_reserved.
func (p *Profile) reserved(w *World, e *KeyEntry) bool {
	r := w.run(e.RunID)
	if r == nil || !terminal(r.Status) {
		return true
	}
	start := r.EndedAt
	if p.FromClaim {
		start = e.ClaimedAt
	}
	return w.Clock < start+p.Retention
}

func (p *Profile) keyedStart(w *World, op *Op) (*World, Result) {
	if e := w.keyEntry(op.Key); e != nil && p.reserved(w, e) {
		owner := &w.Runs[e.RunID-1]
		if p.ConflictError {
			return w, Result{Kind: resError, Str: errHookConflict, Value: Val{valInt, owner.ID}}
		}
		return w, Result{Kind: resExisting, ID: owner.ID, Status: owner.Status, Value: owner.Output}
	}
	if holder := w.hookByToken(op.Key); holder != nil {
		return w, Result{Kind: resError, Str: errHookConflict, Value: Val{valInt, holder.RunID}}
	}
	id := int64(len(w.Runs)) + 1
	c := w.clone()
	c.Runs = make([]Run, len(w.Runs), len(w.Runs)+1)
	copy(c.Runs, w.Runs)
	c.Runs = append(c.Runs, Run{
		ID: id, Workflow: op.Workflow, Status: stPending, Request: op.Request, Key: op.Key,
		EndedAt: -1, StartedAt: w.Clock,
	})
	c = c.withHook(Hook{Token: op.Key, RunID: id, HookID: keyHookID})
	c = c.withKey(KeyEntry{Key: op.Key, RunID: id, ClaimedAt: c.Clock})
	return c, Result{Kind: resStarted, ID: id}
}

// -- the renaming (linearizability.py: bind, to_model, _pair_ids, unify) -----------------------

// Mapping: model run id m -> backend id at position m-1; unbound is None.
type Mapping []int64

const unbound int64 = math.MinInt64

func (m Mapping) contains(b int64) bool {
	for _, x := range m {
		if x == b {
			return true
		}
	}
	return false
}

// bind is the renaming with model id mid bound to backend id b, or false if it contradicts it.
func bind(m Mapping, mid, b int64) (Mapping, bool) {
	if mid <= int64(len(m)) {
		have := m[mid-1]
		if have != unbound {
			return m, have == b
		}
		if m.contains(b) {
			return nil, false
		}
		out := append(Mapping(nil), m...)
		out[mid-1] = b
		return out, true
	}
	if m.contains(b) {
		return nil, false
	}
	out := make(Mapping, mid)
	copy(out, m)
	for i := len(m); i < int(mid)-1; i++ {
		out[i] = unbound
	}
	out[mid-1] = b
	return out, true
}

// toModel is the model id of backend id b (an id the model never saw: -b, a run that is not).
func toModel(m Mapping, b int64) int64 {
	if b <= 0 {
		return b
	}
	for i, x := range m {
		if x == b {
			return int64(i) + 1
		}
	}
	return -b
}

// pairIDs is _pair_ids: bound ids pair with their image, the rest in id order.
func pairIDs(model, backend []int64, m Mapping) ([][2]int64, bool) {
	remaining := append([]int64(nil), backend...)
	sortInt64s(remaining)
	for i := 1; i < len(remaining); i++ {
		if remaining[i] == remaining[i-1] {
			return nil, false
		}
	}
	var pairs [][2]int64
	var free []int64
	for _, mid := range model {
		b := unbound
		if mid <= int64(len(m)) {
			b = m[mid-1]
		}
		if b == unbound {
			free = append(free, mid)
			continue
		}
		j := -1
		for k, x := range remaining {
			if x == b {
				j = k
				break
			}
		}
		if j < 0 {
			return nil, false
		}
		remaining = append(remaining[:j], remaining[j+1:]...)
		pairs = append(pairs, [2]int64{mid, b})
	}
	for i, mid := range free {
		pairs = append(pairs, [2]int64{mid, remaining[i]})
	}
	return pairs, true
}

func sortInt64s(a []int64) {
	for i := 1; i < len(a); i++ { // insertion sort: run lists are short
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// unify: does the backend's answer equal the model's up to the renaming? The renaming extended.
// (No ported op is one of _OK_IS_ID's: CreateRun, AppRecordGet, AppRecordPut.)
func unify(model, backend *Result, m Mapping) (Mapping, bool) {
	if model.Kind != backend.Kind {
		return nil, false
	}
	switch model.Kind {
	case resRunList:
		if len(model.IDs) != len(backend.IDs) {
			return nil, false
		}
		pairs, ok := pairIDs(model.IDs, backend.IDs, m)
		if !ok {
			return nil, false
		}
		for _, p := range pairs {
			if m, ok = bind(m, p[0], p[1]); !ok {
				return nil, false
			}
		}
		return m, true
	case resError:
		if model.Value.K == valInt { // an error whose detail names a run
			if backend.Str != model.Str || backend.Value.K != valInt {
				return nil, false
			}
			return bind(m, model.Value.I, backend.Value.I)
		}
		return m, backend.Str == model.Str && backend.Value == model.Value
	case resOk, resPayload:
		return m, backend.Value == model.Value
	case resHookCreated:
		return m, true
	case resStarted, resHookConflict:
		return bind(m, model.ID, backend.ID)
	case resExisting:
		if backend.Status != model.Status || backend.Value != model.Value {
			return nil, false
		}
		return bind(m, model.ID, backend.ID)
	case resHookInfo:
		if backend.Str != model.Str {
			return nil, false
		}
		return bind(m, model.ID, backend.ID)
	case resRunInfo:
		if backend.Str != model.Str || backend.Status != model.Status ||
			backend.Value != model.Value || backend.Request != model.Request {
			return nil, false
		}
		return bind(m, model.ID, backend.ID)
	}
	return nil, false // resOther
}

// -- the search state and the step -------------------------------------------------------------

// State is our checker's search state: (model world, renaming).
type State struct {
	W *World
	M Mapping
}

// Step is Checker.step: res == nil marks an operation with no response.
func (p *Profile) Step(s *State, op *Op, res *Result) (bool, *State) {
	runID, by := op.RunID, op.By
	switch op.Kind {
	case opKeyedStart, opGetHookByToken, opListRuns, opAdvanceClock:
	default: // translate_op: the op's run ids in the model's names
		runID = toModel(s.M, runID)
		if op.Kind == opCancelRun {
			by = toModel(s.M, by)
		}
	}
	w2, model := p.apply(s.W, op, runID, by)
	if res == nil {
		return true, &State{w2, s.M}
	}
	m2, ok := unify(&model, res, s.M)
	if !ok {
		return false, nil
	}
	return true, &State{w2, m2}
}

// -- equality and hashing of states (Python: tuple equality and hash of (world, mapping)) ------

// sliceEqual: element-wise equality of two slices (inboxes, the delivered and consumed logs)
func sliceEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func worldEqual(a, b *World) bool {
	if a == b {
		return true
	}
	if a.Clock != b.Clock || len(a.Runs) != len(b.Runs) || len(a.Hooks) != len(b.Hooks) ||
		len(a.Keys) != len(b.Keys) || len(a.Cancels) != len(b.Cancels) {
		return false
	}
	for i := range a.Runs {
		if a.Runs[i] != b.Runs[i] {
			return false
		}
	}
	for i := range a.Hooks {
		x, y := &a.Hooks[i], &b.Hooks[i]
		if x.Token != y.Token || x.RunID != y.RunID || x.HookID != y.HookID ||
			!sliceEqual(x.Inbox, y.Inbox) {
			return false
		}
	}
	for i := range a.Keys {
		if a.Keys[i] != b.Keys[i] {
			return false
		}
	}
	for i := range a.Cancels {
		if a.Cancels[i] != b.Cancels[i] {
			return false
		}
	}
	return sliceEqual(a.Delivered, b.Delivered) && sliceEqual(a.Consumed, b.Consumed)
}

// StateEqual is the cache's equality.
func StateEqual(a, b *State) bool {
	if len(a.M) != len(b.M) {
		return false
	}
	for i := range a.M {
		if a.M[i] != b.M[i] {
			return false
		}
	}
	return worldEqual(a.W, b.W)
}

type hasher uint64

func (h *hasher) add(v uint64) {
	x := uint64(*h) ^ v
	x *= 0x9E3779B97F4A7C15
	x ^= x >> 29
	*h = hasher(x)
}

func (h *hasher) val(v Val) {
	h.add(uint64(v.K))
	h.add(uint64(v.I))
}

// StateHash: equal states hash equal.
func StateHash(s *State) uint64 {
	h := hasher(0xcbf29ce484222325)
	w := s.W
	h.add(uint64(w.Clock))
	h.add(uint64(len(w.Runs)))
	for i := range w.Runs {
		r := &w.Runs[i]
		h.add(uint64(r.Status))
		h.add(uint64(r.Request))
		h.add(uint64(r.Key))
		h.val(r.Output)
		h.add(uint64(r.EndedAt))
		h.add(uint64(r.StartedAt) ^ uint64(r.Workflow)<<32)
	}
	h.add(uint64(len(w.Hooks)))
	for i := range w.Hooks {
		x := &w.Hooks[i]
		h.add(uint64(x.Token) | uint64(x.HookID)<<32)
		h.add(uint64(x.RunID))
		h.add(uint64(len(x.Inbox)))
		for _, v := range x.Inbox {
			h.val(v)
		}
	}
	h.add(uint64(len(w.Keys)))
	for _, k := range w.Keys {
		h.add(uint64(k.Key))
		h.add(uint64(k.RunID))
		h.add(uint64(k.ClaimedAt))
	}
	for _, sent := range [2][]Sent{w.Delivered, w.Consumed} {
		h.add(uint64(len(sent)))
		for _, d := range sent {
			h.val(d.Payload)
			h.add(uint64(d.RunID))
		}
	}
	h.add(uint64(len(w.Cancels)))
	for _, c := range w.Cancels {
		h.add(uint64(c[0]))
		h.add(uint64(c[1]))
	}
	h.add(uint64(len(s.M)))
	for _, b := range s.M {
		h.add(uint64(b))
	}
	return uint64(h)
}
