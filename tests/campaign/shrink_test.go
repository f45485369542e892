//go:build campaign

package campaign

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Shrinking is bounded: re-runs of a schedule, and their total time.
const (
	shrinkRuns = 14
	shrinkTime = 90 * time.Second
)

// shrink first keeps only the faults and the ops of the order the
// violation names, then drops chunks of ops (halves, quarters, ...) while
// the schedule still breaks v's invariant when re-run, within shrinkRuns
// and shrinkTime. Ops keep their start times, and interleavings vary
// between runs, so a step that does not reproduce keeps its chunk: the
// result may not be the smallest, but it reproduced.
func shrink(t *testing.T, s settings, tp topology, ops []op, v violation) []op {
	cur := ops
	runs, deadline := 0, time.Now().Add(shrinkTime)
	budget := func() bool { return runs < shrinkRuns && time.Now().Before(deadline) }
	try := func(cand []op) bool {
		runs++
		return len(cand) > 0 && len(cand) < len(cur) && reproduces(t, s, tp, cand, v, fmt.Sprintf("shrink-%s-%d", tp.Name, runs))
	}
	if focus := focused(ops, v.OTN); len(focus) < len(ops) && try(focus) {
		cur = focus
	}
	for chunk := len(cur) / 2; chunk >= 1 && budget(); chunk /= 2 {
		for start := 0; start < len(cur) && budget(); {
			if cand := slices.Concat(cur[:start], cur[min(start+chunk, len(cur)):]); try(cand) {
				cur = cand
			} else {
				start += chunk
			}
		}
	}
	fmt.Printf("campaign: shrunk %d -> %d ops in %d re-runs\n", len(ops), len(cur), runs)
	return cur
}

// focused keeps the faults and the ops on the order numbered out (a
// payment CP-n, or a refund CR-i and its payment).
func focused(ops []op, out string) []op {
	order := -1
	var n int
	if _, err := fmt.Sscanf(out, "CP-%d", &n); err == nil {
		order = n
	} else if _, err := fmt.Sscanf(out, "CR-%d", &n); err == nil {
		if i := slices.IndexFunc(ops, func(o op) bool { return o.Idx == n }); i >= 0 {
			order = ops[i].Order
		}
	}
	if order < 0 {
		return ops
	}
	return slices.DeleteFunc(slices.Clone(ops), func(o op) bool { return !isFault(o.Kind) && o.Order != order })
}

func reproduces(t *testing.T, s settings, tp topology, ops []op, v violation, name string) bool {
	_, _, vs := runSchedule(t, s, tp, ops, name)
	return slices.ContainsFunc(vs, func(w violation) bool { return w.Invariant == v.Invariant && w.Key == v.Key })
}

// replay runs one schedule: "topology:seed:schedule[:idx,idx,...]".
func replay(t *testing.T, s settings, topos []topology, spec string) {
	parts := strings.Split(spec, ":")
	if len(parts) < 3 {
		t.Fatalf("QFSIGN_CAMPAIGN_REPLAY=%q: want topology:seed:schedule[:indices]", spec)
	}
	i := slices.IndexFunc(topos, func(tp topology) bool { return tp.Name == parts[0] })
	seed, err1 := strconv.ParseUint(parts[1], 10, 64)
	stream, err2 := strconv.ParseUint(parts[2], 10, 64)
	if i < 0 || err1 != nil || err2 != nil {
		t.Fatalf("QFSIGN_CAMPAIGN_REPLAY=%q: unknown topology or bad numbers", spec)
	}
	ops := generate(seed, stream, topos[i], s)
	if len(parts) > 3 && parts[3] != "" {
		keep := map[int]bool{}
		for _, f := range strings.Split(parts[3], ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("QFSIGN_CAMPAIGN_REPLAY: index %q", f)
			}
			keep[n] = true
		}
		ops = slices.DeleteFunc(ops, func(o op) bool { return !keep[o.Idx] })
	}
	for _, o := range ops {
		fmt.Printf("    %s\n", o)
	}
	h, e, vs := runSchedule(t, s, topos[i], ops, "replay")
	var tl tally
	tl.init()
	tl.record(topos[i].Name, h, e, vs)
	tl.failing = len(report(s, vs, map[string]bool{}))
	for _, v := range vs {
		fmt.Printf("campaign: %s\n", v)
	}
	tl.print("replay")
	if tl.failing > 0 {
		t.Errorf("%d violations of enabled invariants", tl.failing)
	}
}

// tally counts what a campaign did and found.
type tally struct {
	schedules int
	perTopo   map[string]int
	ops       map[string]int
	faults    map[string]int
	headers   map[string]int
	byInv     map[string]int
	failing   int
	slowest   time.Duration // the longest a caller waited for an answer
	scanned   [2]int        // key scan: outputs and files, bytes
}

func (tl *tally) init() {
	tl.perTopo, tl.ops, tl.faults, tl.headers, tl.byInv = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
}

func (tl *tally) record(topo string, h *history, e *evidence, vs []violation) {
	tl.schedules++
	tl.perTopo[topo]++
	addAll(tl.ops, h.ops)
	addAll(tl.faults, h.faults)
	addAll(tl.headers, e.headers)
	for _, v := range vs {
		tl.byInv[v.Invariant]++
	}
	for _, c := range h.calls {
		tl.slowest = max(tl.slowest, c.Took)
	}
	for _, o := range e.outputs {
		tl.scanned[0]++
		tl.scanned[1] += len(o)
	}
	tl.ops["caller requests"] += len(h.calls)
	tl.ops["QFPay requests"] += len(e.requests)
	tl.ops["notification attempts"] += len(e.deliveries)
	tl.ops["app receipts"] += len(e.receipts)
}

func (tl *tally) add(o tally) {
	if tl.perTopo == nil {
		tl.init()
	}
	tl.schedules += o.schedules
	tl.failing += o.failing
	tl.slowest = max(tl.slowest, o.slowest)
	tl.scanned[0] += o.scanned[0]
	tl.scanned[1] += o.scanned[1]
	addAll(tl.perTopo, o.perTopo)
	addAll(tl.ops, o.ops)
	addAll(tl.faults, o.faults)
	addAll(tl.headers, o.headers)
	addAll(tl.byInv, o.byInv)
}

func addAll(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

func (tl *tally) print(label string) {
	fmt.Printf("campaign: %s: %d schedules %s\n", label, tl.schedules, fmtCounts(tl.perTopo))
	fmt.Printf("campaign: %s: operations %s; slowest answer %s (bound %s)\n", label, fmtCounts(tl.ops), tl.slowest.Round(time.Millisecond), answerBound)
	fmt.Printf("campaign: %s: faults injected %s\n", label, fmtCounts(tl.faults))
	fmt.Printf("campaign: %s: headers seen at QFPay %s\n", label, fmtCounts(tl.headers))
	fmt.Printf("campaign: %s: key scan over %d outputs and files, %d bytes\n", label, tl.scanned[0], tl.scanned[1])
	fmt.Printf("campaign: %s: violations by invariant %s (%d failing)\n", label, fmtCounts(tl.byInv), tl.failing)
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return "{}"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}
