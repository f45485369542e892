// Package docs holds the documentation's checks: every Caddyfile keyword the
// parsers accept has an entry in configuration.md, and every relative link
// of README.md and docs/ points at a file (and heading) that exists.
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// keywords reads, from the Go source of the Caddyfile parsers, every
// keyword they accept: string literals and string constants in switch
// cases and in == / != comparisons (option names and their fixed values),
// keys of map literals (how the parsers dispatch options), in the
// *caddyfile*.go files and in any UnmarshalCaddyfile or unmarshal* function,
// plus the names registered as global options and handler directives.
func keywords(t *testing.T) []string {
	t.Helper()
	parsers, err := filepath.Glob("../caddymodule/*caddyfile*.go")
	if err != nil {
		t.Fatal(err)
	}
	all, err := filepath.Glob("../caddymodule/*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, path := range all {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	consts := stringConsts(files)
	add := func(e ast.Expr) { addLiteral(seen, consts, e) }
	parsed := func(n ast.Node) bool { compared(n, add); return true }
	for _, f := range files {
		if slices.Contains(parsers, fset.File(f.Pos()).Name()) {
			ast.Inspect(f, parsed)
		}
		for _, decl := range f.Decls {
			// A module's Caddyfile parser outside the *caddyfile* files.
			if fn, ok := decl.(*ast.FuncDecl); ok && (fn.Name.Name == "UnmarshalCaddyfile" || strings.HasPrefix(fn.Name.Name, "unmarshal")) {
				ast.Inspect(fn, parsed)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok && len(c.Args) > 0 {
				if sel, ok := c.Fun.(*ast.SelectorExpr); ok &&
					(sel.Sel.Name == "RegisterGlobalOption" || sel.Sel.Name == "RegisterHandlerDirective") {
					add(c.Args[0])
				}
			}
			return true
		})
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// compared passes to add what a parser compares its tokens with: switch
// cases, == and != operands, and the keys of string-keyed map literals.
func compared(n ast.Node, add func(ast.Expr)) {
	switch n := n.(type) {
	case *ast.CaseClause:
		for _, e := range n.List {
			add(e)
		}
	case *ast.BinaryExpr:
		if n.Op == token.EQL || n.Op == token.NEQ {
			add(n.X)
			add(n.Y)
		}
	case *ast.CompositeLit:
		if m, ok := n.Type.(*ast.MapType); ok && isString(m.Key) {
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					add(kv.Key)
				}
			}
		}
	}
}

func isString(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "string"
}

// stringConsts maps the package's string constants to their values.
func stringConsts(files []*ast.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := literal(vs.Values[i]); ok {
							out[name.Name] = v
						}
					}
				}
			}
		}
	}
	return out
}

func literal(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// addLiteral records e when it is a string literal or a string constant.
func addLiteral(seen map[string]bool, consts map[string]string, e ast.Expr) {
	s, ok := literal(e)
	if id, isIdent := e.(*ast.Ident); isIdent {
		s, ok = consts[id.Name]
	}
	if ok && s != "" {
		seen[s] = true
	}
}

var (
	fence      = regexp.MustCompile("(?ms)^```.*?^```")
	codeSpan   = regexp.MustCompile("`[^`\n]+`")
	wordBounds = `(^|[^A-Za-z0-9_])%s([^A-Za-z0-9_]|$)`
)

// inlineCode is every inline code span of a markdown file, fenced blocks
// left out: an example is not an entry.
func inlineCode(md string) []string {
	return codeSpan.FindAllString(fence.ReplaceAllString(md, ""), -1)
}

// documented reports whether kw is a whole word of some inline code span.
func documented(spans []string, kw string) bool {
	re := regexp.MustCompile(strings.Replace(wordBounds, "%s", regexp.QuoteMeta(kw), 1))
	return slices.ContainsFunc(spans, re.MatchString)
}

func TestEveryCaddyfileKeywordDocumented(t *testing.T) {
	kws := keywords(t)
	// The parsers' own sanity: a few keywords of each module must be found,
	// or the extraction itself is broken.
	for _, want := range []string{"qfpay", "qfpay_gateway", "qfpay_notify", "qfpay_health",
		"environment", "merchant", "rate_limit", "verify_response", "dial_timeout",
		"ack", "min_replicas", "auth_mount", "kubernetes", "fields", "app_code", "sync",
		"success_body", "enforce", "observe", "refuse", "memory", "wrapped", "startup", "live"} {
		if !slices.Contains(kws, want) {
			t.Errorf("keyword %q not found in the parsers' source: the extraction is broken (found %v)", want, kws)
		}
	}
	md, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	spans := inlineCode(string(md))
	for _, kw := range kws {
		if !documented(spans, kw) {
			t.Errorf("Caddyfile keyword %q has no entry in docs/configuration.md (as `%s`)", kw, kw)
		}
	}
	t.Logf("%d keywords checked: %s", len(kws), strings.Join(kws, " "))
}

func TestDocumentedHelper(t *testing.T) {
	spans := inlineCode("`max_body` and `retry <min> <max>`\n```\nsync on\n```\n")
	for _, tt := range []struct {
		kw   string
		want bool
	}{
		{"max_body", true},
		{"retry", true},
		{"max_b", false}, // a part of a word is not the word
		{"sync", false},  // in a fenced example only
	} {
		if got := documented(spans, tt.kw); got != tt.want {
			t.Errorf("documented(%q) = %v, want %v", tt.kw, got, tt.want)
		}
	}
}

var link = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// slug is GitHub's anchor for a heading.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors is every heading anchor of a markdown file.
func anchors(md string) map[string]bool {
	out, count := map[string]bool{}, map[string]int{}
	for _, line := range strings.Split(fence.ReplaceAllString(md, ""), "\n") {
		h := strings.TrimLeft(line, "#")
		if h == line || !strings.HasPrefix(h, " ") {
			continue
		}
		s := slug(h)
		if n := count[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		count[s]++
	}
	return out
}

func TestRelativeLinksResolve(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	for _, file := range files {
		md, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(fence.ReplaceAllString(string(md), ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(resolved); err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(resolved, ".md") {
				continue
			}
			body, err := os.ReadFile(resolved)
			if err != nil {
				t.Errorf("%s: link %q: %v", file, target, err)
				continue
			}
			if !anchors(string(body))[anchor] {
				t.Errorf("%s: link %q: no heading with anchor #%s in %s", file, target, anchor, resolved)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Handler `qfpay_gateway` (JSON: `http.handlers.qfpay_gateway`)": "handler-qfpay_gateway-json-httphandlersqfpay_gateway",
		"What anyone who can reach the admin API can do":                "what-anyone-who-can-reach-the-admin-api-can-do",
		"qfsign doctor": "qfsign-doctor",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
