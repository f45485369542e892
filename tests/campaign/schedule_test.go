//go:build campaign

package campaign

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Operation kinds: caller operations, then faults.
const (
	opPay      = "pay"      // a new payment, maybe with a QFPay fault aimed at it
	opDouble   = "double"   // the same payment again, after the first
	opBurst    = "burst"    // the same payment from N callers at once
	opChanged  = "changed"  // the same out_trade_no, another amount
	opRefund   = "refund"   // a refund of an earlier payment (maybe sent twice)
	opQuery    = "query"    // a query by out_trade_no
	opRenotify = "renotify" // QFPay sends an earlier payment's notification again
	opForged   = "forged"   // a notification with a wrong signature, at a gateway

	faultKill   = "kill"     // kill -9 a gateway, restart it after Dur
	faultRedis  = "redis"    // kill -9 Redis, restart it after Dur
	faultFail   = "failover" // kill -9 the Redis primary, promote its replica; the old one rejoins after Dur
	faultVault  = "vault"    // Vault answers 503 for Dur
	faultApp    = "app"      // the application answers Mode for Dur
	faultRotate = "rotate"   // QFPay and Vault get a new key
)

// QFPay faults aimed at one payment (Op.Fault).
const (
	qfSlow    = "slow"    // answer late, within response_header_timeout
	qfLost    = "lost"    // answer later than response_header_timeout
	qfHang    = "hang"    // never answer
	qfReset   = "reset"   // reset the connection after reading the request
	qf5xx     = "5xx"     // HTTP 500/503 without taking the payment
	qfPending = "pending" // 1143, final after some queries
	qfGarbage = "garbage" // QFPay takes it, the answer is mangled
)

// op is one step of a schedule. Ops are self-contained (a double submit
// carries its order's number and amount), so a shrunk schedule still runs.
type op struct {
	Idx     int // position in the generated schedule
	Kind    string
	Order   int           // the payment's number: out_trade_no CP-<Order>
	Amount  int           // txamt
	Fault   string        // opPay: the QFPay fault (qf*); faultApp: the app's mode
	Detail  string        // garbage kind, pending final respcd, 5xx status
	Replica int           // the gateway a caller uses, or the one killed
	N       int           // burst size; refund: times sent; pending: queries before final
	Idem    bool          // the caller adds an Idempotency-Key header
	Dur     time.Duration // fault duration; QFPay delay
	At      time.Duration // when it starts, from the schedule's start
}

func (o op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d +%s %s", o.Idx, o.At, o.Kind)
	switch o.Kind {
	case opPay, opDouble, opChanged, opQuery, opRenotify:
		fmt.Fprintf(&b, " P%d", o.Order)
	case opBurst:
		fmt.Fprintf(&b, " P%d x%d", o.Order, o.N)
	case opRefund:
		fmt.Fprintf(&b, " R%d of P%d x%d", o.Idx, o.Order, o.N)
	case faultKill:
		fmt.Fprintf(&b, " gateway %d for %s", o.Replica, o.Dur)
	case faultRedis, faultVault:
		fmt.Fprintf(&b, " for %s", o.Dur)
	case faultFail:
		fmt.Fprintf(&b, ", old primary back after %s", o.Dur)
	case faultApp:
		fmt.Fprintf(&b, " %s for %s", o.Fault, o.Dur)
	}
	if o.Amount > 0 && o.Kind != opQuery && o.Kind != opRenotify {
		fmt.Fprintf(&b, " txamt=%d", o.Amount)
	}
	if o.Kind == opPay && o.Fault != "" {
		fmt.Fprintf(&b, " qfpay=%s", o.Fault)
		if o.Detail != "" {
			fmt.Fprintf(&b, "(%s)", o.Detail)
		}
		if o.Dur > 0 {
			fmt.Fprintf(&b, " after %s", o.Dur)
		}
	}
	if o.Idem && o.Kind != opRenotify && o.Kind != opForged {
		b.WriteString(" +Idempotency-Key")
	}
	if !isFault(o.Kind) && o.Kind != opRenotify {
		fmt.Fprintf(&b, " via gateway %d", o.Replica)
	}
	return b.String()
}

// generator draws ops for one schedule on one topology.
type generator struct {
	r      *rand.Rand
	topo   topology
	s      settings
	orders int // payments created so far
	ops    []op
	// A schedule either rotates the key once (at op rotateAt) or takes
	// Vault down, never both: with Vault down a rotation's 1108 is
	// legitimately passed on.
	rotating bool
	rotateAt int
}

const scheduleOps = 60

// generate is the schedule for seed on topo: deterministic in its inputs.
func generate(seed, stream uint64, topo topology, s settings) []op {
	g := &generator{r: rand.New(rand.NewPCG(seed, stream)), topo: topo, s: s}
	g.rotating, g.rotateAt = g.r.IntN(2) == 0, 5+g.r.IntN(scheduleOps-15)
	storm, at := 0, time.Duration(0)
	for i := range scheduleOps {
		var o op
		gap := time.Duration(g.r.IntN(60)) * time.Millisecond
		switch {
		case g.rotating && i == g.rotateAt:
			o, storm = op{Kind: faultRotate}, 4+g.r.IntN(5)
		case storm > 0: // right after a rotation: payments at once, so 1108s coincide
			o, gap = g.pay(), time.Duration(g.r.IntN(3))*time.Millisecond
			o.Fault, o.Detail, o.Dur = "", "", 0
			storm--
		default:
			o = g.next()
		}
		o.Idx = i
		o.Replica = g.r.IntN(max(topo.Replicas, 1))
		o.At = at
		at += gap
		g.ops = append(g.ops, o)
	}
	return g.ops
}

func (g *generator) next() op {
	for {
		switch n := g.r.IntN(100); {
		case n < 30 || g.orders == 0:
			return g.pay()
		case n < 40:
			return g.again(opDouble)
		case n < 46:
			o := g.again(opBurst)
			o.N = 2 + g.r.IntN(6)
			return o
		case n < 52:
			o := g.again(opChanged)
			o.Amount += 1 + g.r.IntN(50)
			return o
		case n < 60:
			o := g.again(opRefund)
			o.Amount, o.N = 1+g.r.IntN(5), 1+g.r.IntN(2)
			return o
		case n < 66:
			return g.again(opQuery)
		case n < 72:
			return g.again(opRenotify)
		case n < 75:
			return op{Kind: opForged, Order: g.r.IntN(g.orders)}
		case n < 81 && g.s.feature(g.topo.Name, featKill):
			return op{Kind: faultKill, Dur: g.dur(200, 1500)}
		case n < 85 && g.topo.Redis:
			return op{Kind: faultRedis, Dur: g.dur(200, 1500)}
		case n < 85 && g.topo.Failover:
			return op{Kind: faultFail, Dur: g.dur(200, 1500)}
		case n < 89 && !g.rotating:
			return op{Kind: faultVault, Dur: g.dur(300, 2500)}
		case n < 95:
			modes := []string{app500, appHang}
			if g.s.feature(g.topo.Name, featAppFail) {
				modes = append(modes, appFail)
			}
			return op{Kind: faultApp, Fault: modes[g.r.IntN(len(modes))], Dur: g.dur(200, 2000)}
		}
	}
}

func (g *generator) dur(minMS, maxMS int) time.Duration {
	return time.Duration(minMS+g.r.IntN(maxMS-minMS)) * time.Millisecond
}

// pay is a new payment, with a QFPay fault one time in two.
func (g *generator) pay() op {
	o := op{Kind: opPay, Order: g.orders, Amount: 100 + g.r.IntN(9900)}
	g.orders++
	o.Idem = g.s.feature(g.topo.Name, featIdem) && g.r.IntN(4) == 0
	if g.r.IntN(2) == 0 {
		return o
	}
	faults := []string{qfSlow, qfLost, qfHang, qfReset, qf5xx, qfPending, qfGarbage}
	o.Fault = faults[g.r.IntN(len(faults))]
	switch o.Fault {
	case qfSlow:
		o.Dur = g.dur(50, 1000)
	case qfLost:
		o.Dur = responseTimeout + g.dur(100, 1000)
	case qf5xx:
		o.Detail = []string{"500", "503"}[g.r.IntN(2)]
	case qfPending:
		o.Detail = []string{"0000", "0000", "1261"}[g.r.IntN(3)]
		o.N = g.r.IntN(4)
	case qfGarbage:
		o.Detail = garbageKinds[g.r.IntN(len(garbageKinds))]
	}
	return o
}

// again aims at an earlier payment, with that payment's amount.
func (g *generator) again(kind string) op {
	i := g.r.IntN(g.orders)
	for _, o := range g.ops {
		if o.Kind == opPay && o.Order == i {
			return op{Kind: kind, Order: i, Amount: o.Amount, Idem: o.Idem}
		}
	}
	return op{Kind: kind, Order: i, Amount: 100}
}
