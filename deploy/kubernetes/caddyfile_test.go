package kubernetes_test

import (
	"slices"
	"strings"
)

// A minimal Caddyfile reader, enough to check structure: comments removed,
// one directive per line, "{" at a line's end opens a block, "}" closes it.
// Backquoted and double-quoted tokens are kept whole.

type cfNode struct {
	args   []string // the line's tokens, "{" excluded
	depth  int      // 0 for top-level blocks
	kids   []*cfNode
	parent *cfNode
}

type caddyfileTree struct {
	root *cfNode
	text string // with comments removed
}

func parseCaddyfile(src string) *caddyfileTree {
	root := &cfNode{depth: -1}
	cur := root
	var clean strings.Builder
	for _, line := range strings.Split(src, "\n") {
		toks := tokenize(line)
		clean.WriteString(strings.Join(toks, " "))
		clean.WriteByte('\n')
		if len(toks) == 0 {
			continue
		}
		if len(toks) == 1 && toks[0] == "}" {
			if cur.parent != nil {
				cur = cur.parent
			}
			continue
		}
		opens := toks[len(toks)-1] == "{"
		if opens {
			toks = toks[:len(toks)-1]
		}
		n := &cfNode{args: toks, depth: cur.depth + 1, parent: cur}
		cur.kids = append(cur.kids, n)
		if opens {
			cur = n
		}
	}
	return &caddyfileTree{root: root, text: clean.String()}
}

// tokenize splits a line into tokens, dropping a comment that starts at a
// token boundary.
func tokenize(line string) []string {
	var toks []string
	var b strings.Builder
	var quote rune
	inTok := false
	for _, r := range line {
		switch {
		case quote != 0:
			b.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '`' || r == '"':
			quote, inTok = r, true
			b.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\r':
			if inTok {
				toks = append(toks, b.String())
				b.Reset()
				inTok = false
			}
		case r == '#' && !inTok:
			return toks
		default:
			inTok = true
			b.WriteRune(r)
		}
	}
	if inTok {
		toks = append(toks, b.String())
	}
	return toks
}

func (n *cfNode) header() string { return strings.Join(n.args, " ") }

func (n *cfNode) children(name string) []*cfNode {
	var out []*cfNode
	for _, k := range n.kids {
		if len(k.args) > 0 && k.args[0] == name {
			out = append(out, k)
		}
	}
	return out
}

func (n *cfNode) child(name string) *cfNode {
	if n == nil {
		return nil
	}
	if c := n.children(name); len(c) == 1 {
		return c[0]
	}
	return nil
}

func (n *cfNode) route(path string) *cfNode {
	for _, k := range n.kids {
		if len(k.args) == 2 && k.args[0] == "route" && k.args[1] == path {
			return k
		}
	}
	return nil
}

// walk calls fn for n's descendants.
func (n *cfNode) walk(fn func(*cfNode)) {
	for _, k := range n.kids {
		fn(k)
		k.walk(fn)
	}
}

// contains reports whether a directive named name is anywhere under n.
func (n *cfNode) contains(name string) bool {
	var hit bool
	n.walk(func(d *cfNode) { hit = hit || (len(d.args) > 0 && d.args[0] == name) })
	return hit
}

func (c *caddyfileTree) global() *cfNode {
	if len(c.root.kids) > 0 && len(c.root.kids[0].args) == 0 {
		return c.root.kids[0]
	}
	return &cfNode{}
}

// siteWith returns the first site block (not the global options) holding
// a directive named name.
func (c *caddyfileTree) siteWith(name string) *cfNode {
	for _, k := range c.root.kids {
		if len(k.args) > 0 && k.contains(name) {
			return k
		}
	}
	return nil
}

// find returns every line anywhere whose first tokens are prefix.
func (c *caddyfileTree) find(prefix ...string) []*cfNode {
	var out []*cfNode
	c.root.walk(func(d *cfNode) {
		if len(d.args) >= len(prefix) && slices.Equal(d.args[:len(prefix)], prefix) {
			out = append(out, d)
		}
	})
	return out
}
