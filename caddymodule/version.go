package caddymodule

import (
	"runtime/debug"
	"sync"
)

const modulePath = "github.com/qfsign/qfsign"

// userAgent is what QFPay sees as the client: qfsign and its module
// version ("devel" for a build from a work tree), never the caller's.
var userAgent = sync.OnceValue(func() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
		for _, m := range mods {
			if m.Path == modulePath && m.Version != "" && m.Version != "(devel)" {
				v = m.Version
			}
		}
	}
	return "qfsign/" + v
})
