// Porcupine on a history exported by benchmarks/porcupine_vs_python.py.
//
//	porcupine-bench [-budget SECONDS] [-parallel] HISTORY.json
//
// Reads the history (JSON: the profile's options and every operation with its op, result, call
// and return times), partitions it as backends/validate/linearizability.py does (one partition
// per key, the clock ticks, which have no key, in every partition), and checks each partition
// with porcupine.CheckOperationsTimeout, one after another as our checker does, under one budget
// for the whole history (a partition started after it has run out is "unknown"). The model is
// model.go: the state (world, renaming) and the step of our checker. Prints one JSON object:
// per partition its key, operations, verdict, seconds of the check (parsing excluded) and model
// steps (Step calls); the global run-id check (global_id_check); the history's verdict.
//
// An operation with no response gets a Return after every other event of the history and a nil
// Output, which the step accepts with whatever answer the model gives: it may be linearized
// anywhere after its call, as in our checker.
//
// -parallel also times Porcupine as it is usually run: one CheckOperationsTimeout on the whole
// history with a Partition function (partitions checked concurrently, stopping at the first
// failing one).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

type jsonFields struct {
	Kind     string          `json:"kind"`
	RunID    *int64          `json:"run_id"`
	By       *int64          `json:"by"`
	Workflow *string         `json:"workflow"`
	Request  *int64          `json:"request"`
	Key      *string         `json:"key"`
	HookID   *string         `json:"hook_id"`
	Token    *string         `json:"token"`
	Status   *string         `json:"status"`
	Name     *string         `json:"name"`
	Value    json.RawMessage `json:"value"`
	RunIDs   []int64         `json:"run_ids"`
}

type jsonOp struct {
	Index  int         `json:"index"`
	Client int         `json:"client"`
	Key    *string     `json:"key"`
	Call   int64       `json:"call"`
	Ret    *int64      `json:"ret"`
	Op     jsonFields  `json:"op"`
	Result *jsonFields `json:"result"`
}

type jsonHistory struct {
	Profile struct {
		Name    string                 `json:"name"`
		Options map[string]interface{} `json:"options"`
	} `json:"profile"`
	Ops []jsonOp `json:"ops"`
}

type partitionOut struct {
	Key     string  `json:"key"`
	Ops     int     `json:"ops"`
	Verdict string  `json:"verdict"`
	Seconds float64 `json:"seconds"`
	Steps   int64   `json:"steps"`
}

type output struct {
	Partitions      []partitionOut `json:"partitions"`
	Problem         *string        `json:"problem"`
	Verdict         string         `json:"verdict"`
	Seconds         float64        `json:"seconds"`
	Steps           int64          `json:"steps"`
	ParallelVerdict string         `json:"parallel_verdict,omitempty"`
	ParallelSeconds float64        `json:"parallel_seconds,omitempty"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "porcupine-bench: "+format+"\n", args...)
	os.Exit(2)
}

// interning: identifiers in one table sorted like the strings, values in another
type tables struct {
	ids    map[string]int32
	values map[string]int64
}

func buildTables(h *jsonHistory) *tables {
	set := map[string]bool{}
	for _, s := range Constants {
		set[s] = true
	}
	add := func(s *string) {
		if s != nil {
			set[*s] = true
		}
	}
	for i := range h.Ops {
		o := &h.Ops[i]
		for _, f := range []*jsonFields{&o.Op, o.Result} {
			if f == nil {
				continue
			}
			add(f.Workflow)
			add(f.Key)
			add(f.HookID)
			add(f.Token)
			add(f.Status)
			add(f.Name)
		}
	}
	all := make([]string, 0, len(set))
	for s := range set {
		all = append(all, s)
	}
	sort.Strings(all) // byte order of UTF-8 = code point order = Python's str order
	t := &tables{ids: map[string]int32{}, values: map[string]int64{}}
	for i, s := range all {
		t.ids[s] = int32(i)
	}
	setConstants(func(s string) int32 { return t.ids[s] })
	return t
}

func (t *tables) id(s *string, what string) int32 {
	if s == nil {
		fail("missing %s", what)
	}
	return t.ids[*s]
}

func (t *tables) optID(s *string) int32 {
	if s == nil {
		return noStr
	}
	return t.ids[*s]
}

// val: JSON null is None, a number an int, a string the repr of any other value
func (t *tables) val(raw json.RawMessage) Val {
	if len(raw) == 0 || string(raw) == "null" {
		return none
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return Val{valInt, n}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		fail("bad value %s", string(raw))
	}
	i, ok := t.values[s]
	if !ok {
		i = int64(len(t.values))
		t.values[s] = i
	}
	return Val{valRepr, i}
}

func need(p *int64, what string) int64 {
	if p == nil {
		fail("missing %s", what)
	}
	return *p
}

func (t *tables) op(f *jsonFields) *Op {
	kind, ok := opNames[f.Kind]
	if !ok {
		fail("op %q is not ported", f.Kind)
	}
	op := &Op{Kind: kind, Status: noStr, Key: noStr}
	switch kind {
	case opKeyedStart:
		op.Workflow = t.id(f.Workflow, "workflow")
		op.Request = need(f.Request, "request")
		op.Key = t.id(f.Key, "key")
	case opListRuns:
		op.Workflow = t.id(f.Workflow, "workflow")
		op.Status = t.optID(f.Status)
	case opGetHookByToken:
		op.Token = t.id(f.Token, "token")
	case opAdvanceClock:
	default:
		op.RunID = need(f.RunID, "run_id")
	}
	switch kind {
	case opClaimHook:
		op.HookID = t.id(f.HookID, "hook_id")
		op.Token = t.id(f.Token, "token")
	case opDeliverPayload:
		op.HookID = t.id(f.HookID, "hook_id")
		op.Value = t.val(f.Value)
	case opPollPayload, opDisposeHook:
		op.HookID = t.id(f.HookID, "hook_id")
	case opCompleteRun, opFailRun:
		op.Value = t.val(f.Value)
	case opCancelRun:
		op.By = need(f.By, "by")
	}
	return op
}

func (t *tables) result(f *jsonFields) *Result {
	if f == nil {
		return nil
	}
	kind, ok := resNames[f.Kind]
	if !ok {
		fail("result %q is not ported", f.Kind)
	}
	r := &Result{Kind: kind}
	switch kind {
	case resOk, resPayload:
		r.Value = t.val(f.Value)
	case resHookConflict, resStarted:
		r.ID = need(f.RunID, "run_id")
	case resHookInfo:
		r.ID = need(f.RunID, "run_id")
		r.Str = t.id(f.HookID, "hook_id")
	case resRunInfo:
		r.ID = need(f.RunID, "run_id")
		r.Str = t.id(f.Workflow, "workflow")
		r.Status = t.id(f.Status, "status")
		r.Value = t.val(f.Value)
		r.Request = need(f.Request, "request")
	case resExisting:
		r.ID = need(f.RunID, "run_id")
		r.Status = t.id(f.Status, "status")
		r.Value = t.val(f.Value)
	case resRunList:
		r.IDs = f.RunIDs
	case resError:
		r.Str = t.id(f.Name, "name")
		r.Value = t.val(f.Value)
	}
	return r
}

func profileOf(h *jsonHistory) *Profile {
	if h.Profile.Name != "vercel-keyed-start" {
		fail("profile %q is not ported (only vercel-keyed-start)", h.Profile.Name)
	}
	p := &Profile{AtomicRelease: true, Retention: 2}
	for name, v := range h.Profile.Options {
		switch name {
		case "atomic_release":
			p.AtomicRelease = v.(bool)
		case "retention":
			p.Retention = int64(v.(float64))
		case "retention_from":
			p.FromClaim = v.(string) == "claim"
		case "duplicate":
			p.ConflictError = v.(string) == "conflict-error"
		default:
			fail("option %q is not ported", name)
		}
	}
	return p
}

type part struct {
	key string
	ops []porcupine.Operation
}

// partitions is linearizability.partitions: keys sorted, ops without a key in every partition,
// each partition in index order (the ops arrive sorted by index)
func partitions(h *jsonHistory, ops []*Op, results []*Result) []part {
	var last int64
	for _, o := range h.Ops {
		if o.Call > last {
			last = o.Call
		}
		if o.Ret != nil && *o.Ret > last {
			last = *o.Ret
		}
	}
	keys := map[string]bool{}
	for _, o := range h.Ops {
		if o.Key != nil {
			keys[*o.Key] = true
		}
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	index := map[string]int{}
	parts := make([]part, len(names))
	for i, k := range names {
		index[k] = i
		parts[i].key = k
	}
	for i, o := range h.Ops {
		ret := last + 1 // no response: returns after every other event
		if o.Ret != nil {
			ret = *o.Ret
		}
		op := porcupine.Operation{
			ClientId: o.Client + 1, Input: ops[i], Call: o.Call, Output: results[i], Return: ret,
		}
		if o.Key == nil {
			for j := range parts {
				parts[j].ops = append(parts[j].ops, op)
			}
		} else {
			j := index[*o.Key]
			parts[j].ops = append(parts[j].ops, op)
		}
	}
	return parts
}

// globalProblem is global_id_check: no backend run id admitted twice across partitions
func globalProblem(h *jsonHistory) *string {
	seen := map[int64]int{}
	for i, o := range h.Ops {
		if o.Ret == nil || o.Result == nil || o.Result.Kind != "Started" {
			continue
		}
		id := *o.Result.RunID
		if j, ok := seen[id]; ok {
			s := fmt.Sprintf("run id %d admitted twice: by client %d and client %d", id,
				h.Ops[j].Client, o.Client)
			return &s
		}
		seen[id] = i
	}
	return nil
}

var verdicts = map[porcupine.CheckResult]string{
	porcupine.Ok: "linearizable", porcupine.Illegal: "not-linearizable",
	porcupine.Unknown: "unknown",
}

func main() {
	budget := flag.Float64("budget", 60, "seconds for the whole history")
	parallel := flag.Bool("parallel", false, "also time one CheckOperations with Partition")
	flag.Parse()
	if flag.NArg() != 1 {
		fail("usage: porcupine-bench [-budget SECONDS] [-parallel] HISTORY.json")
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fail("%v", err)
	}
	var h jsonHistory
	if err := json.Unmarshal(data, &h); err != nil {
		fail("%s: %v", flag.Arg(0), err)
	}
	sort.SliceStable(h.Ops, func(i, j int) bool { return h.Ops[i].Index < h.Ops[j].Index })
	profile := profileOf(&h)
	t := buildTables(&h)
	ops := make([]*Op, len(h.Ops))
	results := make([]*Result, len(h.Ops))
	for i := range h.Ops {
		ops[i] = t.op(&h.Ops[i].Op)
		if h.Ops[i].Ret != nil {
			results[i] = t.result(h.Ops[i].Result)
			if results[i] == nil {
				fail("op %d has a return and no result", h.Ops[i].Index)
			}
		}
	}
	parts := partitions(&h, ops, results)

	var steps int64
	model := porcupine.Model{
		Init: func() interface{} { return &State{W: &World{}} },
		Step: func(state, input, out interface{}) (bool, interface{}) {
			steps++
			ok, next := profile.Step(state.(*State), input.(*Op), out.(*Result))
			if !ok {
				return false, nil
			}
			return true, next
		},
		Equal: func(a, b interface{}) bool { return StateEqual(a.(*State), b.(*State)) },
		Hash:  func(s interface{}) uint64 { return StateHash(s.(*State)) },
	}

	out := output{Verdict: "linearizable", Partitions: []partitionOut{}}
	deadline := time.Now().Add(time.Duration(*budget * float64(time.Second)))
	for _, p := range parts {
		steps = 0
		verdict := "unknown"
		started := time.Now()
		if remaining := time.Until(deadline); remaining > 0 {
			verdict = verdicts[porcupine.CheckOperationsTimeout(model, p.ops, remaining)]
		}
		seconds := time.Since(started).Seconds()
		out.Partitions = append(out.Partitions, partitionOut{p.key, len(p.ops), verdict, seconds, steps})
		out.Seconds += seconds
		out.Steps += steps
		if verdict == "not-linearizable" {
			out.Verdict = verdict
		} else if verdict == "unknown" && out.Verdict == "linearizable" {
			out.Verdict = verdict
		}
	}
	out.Problem = globalProblem(&h)
	if out.Problem != nil {
		out.Verdict = "not-linearizable"
	}

	if *parallel {
		whole := make([]porcupine.Operation, 0)
		for _, p := range parts {
			whole = append(whole, p.ops...)
		}
		pm := model
		pm.Step = func(state, input, out interface{}) (bool, interface{}) {
			ok, next := profile.Step(state.(*State), input.(*Op), out.(*Result))
			if !ok {
				return false, nil
			}
			return true, next
		}
		pm.Partition = func([]porcupine.Operation) [][]porcupine.Operation {
			split := make([][]porcupine.Operation, len(parts))
			for i, p := range parts {
				split[i] = p.ops
			}
			return split
		}
		started := time.Now()
		res := porcupine.CheckOperationsTimeout(pm, whole, time.Duration(*budget*float64(time.Second)))
		out.ParallelSeconds = time.Since(started).Seconds()
		out.ParallelVerdict = verdicts[res]
	}

	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail("%v", err)
	}
}
