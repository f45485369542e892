//go:build campaign

// Package campaign is a randomized fault campaign against the built
// qfsign binary, Jepsen-style: random schedules of payments, double
// submits, refunds, queries and notifications, with gateway kills, QFPay,
// Redis, Vault and application faults at random points, checked against
// QFPay's ledger and the application's log. See docs/campaign.md.
package campaign

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	seedFlag = flag.Uint64("seed", 0, "fixed campaign seed (default QFSIGN_CAMPAIGN_SEED, else 1)")
	binPath  string
)

// fixedSeed is the -seed flag, else QFSIGN_CAMPAIGN_SEED, else 1.
func fixedSeed(t *testing.T) uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if v := os.Getenv("QFSIGN_CAMPAIGN_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("QFSIGN_CAMPAIGN_SEED: %v", err)
		}
		return n
	}
	return 1
}

func campaignDuration(t *testing.T) time.Duration {
	v := os.Getenv("QFSIGN_CAMPAIGN_DURATION")
	if v == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("QFSIGN_CAMPAIGN_DURATION: %v", err)
	}
	return d
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 1 // fits a signed int: easy to paste
}

var (
	buildOnce sync.Once
	buildErr  error
)

// buildBinary builds cmd/qfsign once per test binary, into a directory
// removed when the process ends (TestMain).
func buildBinary(t *testing.T) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qfsign-campaign-")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "qfsign")
		if out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/qfsign").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// TestTopologyProbe: the probe that decides which topologies run accepts
// a store the binary has and refuses one it has not.
func TestTopologyProbe(t *testing.T) {
	buildBinary(t)
	if !probeStore(t, "store memory") {
		t.Error("the probe refuses store memory")
	}
	if probeStore(t, "store no-such-store") {
		t.Error("the probe accepts an unknown store")
	}
}

// available is the topologies this binary supports, in table order.
func available(t *testing.T) []topology {
	var out []topology
	for _, tp := range topologies {
		if tp.Probe == "" || probeStore(t, tp.Probe) {
			out = append(out, tp)
		} else {
			fmt.Printf("campaign: topology %s not run: the binary does not accept %q\n", tp.Name, tp.Probe)
		}
	}
	return out
}

func TestCampaign(t *testing.T) {
	s, err := loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	buildBinary(t)
	topos := available(t)
	names := make([]string, len(topos))
	for i, tp := range topos {
		names[i] = tp.Name
	}
	fmt.Printf("campaign: topologies %s\n", strings.Join(names, ", "))
	printKnown(s)
	if v := os.Getenv("QFSIGN_CAMPAIGN_REPLAY"); v != "" {
		replay(t, s, topos, v)
		return
	}
	fixed := fixedSeed(t)
	seeds := []uint64{fixed}
	if os.Getenv("QFSIGN_CAMPAIGN_RANDOM") != "0" {
		random := randomSeed()
		seeds = append(seeds, random)
		fmt.Printf("campaign: fixed seed %d, random seed %d (rerun either with QFSIGN_CAMPAIGN_SEED=<seed> QFSIGN_CAMPAIGN_RANDOM=0)\n", fixed, random)
	} else {
		fmt.Printf("campaign: fixed seed %d only (QFSIGN_CAMPAIGN_RANDOM=0)\n", fixed)
	}
	total := campaignDuration(t)
	var all tally
	for _, seed := range seeds {
		all.add(runSeed(t, s, topos, seed, total/time.Duration(len(seeds))))
	}
	all.print("campaign total")
	if all.failing > 0 {
		t.Errorf("%d violations of enabled invariants (see above)", all.failing)
	}
}

func printKnown(s settings) {
	for _, k := range knownViolations {
		state := "not generated (QFSIGN_CAMPAIGN_KNOWN=" + k.ID + " generates it and fails on it)"
		switch {
		case s.known[k.ID]:
			state = "ENABLED"
		case k.Feature == "":
			state = "reported, not failing (QFSIGN_CAMPAIGN_KNOWN=" + k.ID + " fails on it)"
		}
		fmt.Printf("campaign: known violation %s (issue %s) %s: %s\n", k.ID, k.Issue, state, k.Summary)
	}
}

// runSeed runs schedules of seed for d, rotating through the topologies.
func runSeed(t *testing.T, s settings, topos []topology, seed uint64, d time.Duration) tally {
	var tl tally
	tl.init()
	deadline := time.Now().Add(d)
	shown, shrunk := map[string]bool{}, map[string]bool{}
	for stream := uint64(0); time.Now().Before(deadline); stream++ {
		tp := topos[int(stream)%len(topos)]
		ops := generate(seed, stream, tp, s)
		h, e, vs := runSchedule(t, s, tp, ops, fmt.Sprintf("seed%d/%d/%s", seed, stream, tp.Name))
		tl.record(tp.Name, h, e, vs)
		failing := report(s, vs, shown)
		if len(failing) == 0 {
			continue
		}
		tl.failing += len(failing)
		printed := map[string]int{}
		for _, v := range failing {
			if printed[v.Invariant]++; printed[v.Invariant] <= 2 {
				fmt.Printf("campaign: VIOLATION seed %d schedule %d topology %s: %s\n", seed, stream, tp.Name, v)
			}
		}
		fmt.Printf("campaign: schedule %d: %d violations %s\n", stream, len(failing), fmtCounts(printed))
		// Shrink the most severe violation not shrunk yet in this seed.
		for _, v := range failing {
			if id := tp.Name + "/" + v.Invariant; !shrunk[id] {
				shrunk[id] = true
				printSchedule(s, seed, stream, tp, shrink(t, s, tp, ops, v), v)
				break
			}
		}
	}
	tl.print(fmt.Sprintf("seed %d", seed))
	return tl
}

// runSchedule plays ops on a fresh cluster and checks the result.
func runSchedule(t *testing.T, s settings, tp topology, ops []op, name string) (*history, *evidence, []violation) {
	var h *history
	var e *evidence
	var vs []violation
	t.Run(name, func(t *testing.T) {
		c := startCluster(t, binPath, tp)
		h = run(c, ops)
		for _, err := range h.infra {
			t.Errorf("harness: %v", err)
		}
		e = collect(c, h)
		vs = check(e)
	})
	if h == nil || e == nil {
		t.FailNow()
	}
	return h, e, vs
}

// report prints violations of known, withheld defects (the first of each
// invariant not yet shown) and returns the others.
func report(s settings, vs []violation, shown map[string]bool) []violation {
	var failing []violation
	for _, v := range vs {
		if k, ok := s.knownFor(v.Invariant); ok {
			if !shown[v.Invariant] {
				fmt.Printf("campaign: known (issue %s, %s): %s\n", k.Issue, k.ID, v)
				shown[v.Invariant] = true
			}
			continue
		}
		failing = append(failing, v)
	}
	return failing
}

func printSchedule(s settings, seed, stream uint64, tp topology, ops []op, v violation) {
	idx := make([]string, len(ops))
	for i, o := range ops {
		idx[i] = strconv.Itoa(o.Idx)
	}
	fmt.Printf("campaign: minimal schedule (%d ops) for %s on %s, seed %d schedule %d:\n", len(ops), v.Invariant, tp.Name, seed, stream)
	for _, o := range ops {
		fmt.Printf("    %s\n", o)
	}
	known := ""
	if s.raw != "" {
		known = "QFSIGN_CAMPAIGN_KNOWN=" + s.raw + " "
	}
	fmt.Printf("  replay: %sQFSIGN_CAMPAIGN_REPLAY=%s:%d:%d:%s go test -tags campaign -run TestCampaign -v ./tests/campaign\n",
		known, tp.Name, seed, stream, strings.Join(idx, ","))
}
