package signer

import (
	"sync"
	"time"
)

// Policy is what a merchant's configuration contributes to validation.
// The zero value is usable: no mchid, the default pay types, Hong Kong time.
type Policy struct {
	// MchID is set on every request when QFPay issued one, and refused
	// from the caller when it did not.
	MchID string
	// PayTypes is the allow-list; nil means every type in PayTypes.
	PayTypes map[string]struct{}
	// Location fills and converts txdtm; nil means Asia/Hong_Kong.
	Location *time.Location
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var hongKong = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Hong_Kong")
	if err != nil {
		return time.FixedZone("HKT", 8*3600)
	}
	return loc
})

// DefaultLocation is QFPay's home zone (the old txzone default, +0800).
func DefaultLocation() *time.Location { return hongKong() }

func (pol *Policy) location() *time.Location {
	if pol != nil && pol.Location != nil {
		return pol.Location
	}
	return hongKong()
}

func (pol *Policy) now() time.Time {
	if pol != nil && pol.Now != nil {
		return pol.Now()
	}
	return time.Now()
}

func (pol *Policy) allowsPayType(v string) bool {
	if pol != nil && pol.PayTypes != nil {
		return in(pol.PayTypes, v)
	}
	_, ok := PayTypes[v]
	return ok
}

// NewPayTypeSet builds an allow-list, refusing codes not in PayTypes.
func NewPayTypeSet(codes []string) (map[string]struct{}, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	m := make(map[string]struct{}, len(codes))
	for _, c := range codes {
		if _, ok := PayTypes[c]; !ok {
			return nil, fieldErr("pay_types", RuleOneOf, "unknown pay type "+c)
		}
		m[c] = struct{}{}
	}
	return m, nil
}
