package secretcmp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/licensor/licensor/test/sourcescan"
)

// secretName matches identifiers that hold a secret or something derived
// from one: API keys, session/CSRF/reset/download tokens, webhook
// signatures and secrets, MACs, password hashes, CAPTCHA answers.
var secretName = regexp.MustCompile(`(?i)(token|secret|signature|^sig$|sig$|hmac|^mac$|mac$|digest|hash|answer|password|passwd|apikey|api_key|^key$|^plain$)`)

// allowed are comparisons that match secretName but compare nothing an
// attacker could learn by timing, keyed "file: expression" (the file
// relative to the repository root), with the reason.
var allowed = map[string]string{
	"app/portal/register.go: password != c.FormValue(\"password_confirmation\")":                 "the user's own two form fields, both sent in the same request",
	"app/portal/account.go: password != c.FormValue(\"password_confirmation\")":                  "the user's own two form fields, both sent in the same request",
	"app/portal/password.go: password != c.FormValue(\"password_confirmation\")":                 "the user's own two form fields, both sent in the same request",
	"app/admin/password.go: password != c.FormValue(\"password_confirmation\")":                  "the admin's own two form fields, both sent in the same request",
	"app/settings/set.go: d.Key == key":                                                          "a setting's name, not a key in the cryptographic sense",
	"app/customers/tokens.go: purpose == TokenEmailVerification":                                 "the token's purpose (a constant), not the token",
	"app/apikeys/apikeys.go: strings.TrimSpace(p.Key) != p.Key":                                  "the key compared with itself trimmed (a form rule), nothing stored",
	"app/avatars/storage.go: key != filepath.Base(key)":                                          "a storage key checked for path separators, not against a secret",
	"app/licensing/download.go: strings.EqualFold(req.TokenProductRef, req.Product.ReferenceID)": "the product reference inside an already verified token, public",
	"app/licensing/verify.go: strings.EqualFold(tokenRef, p.ReferenceID)":                        "the product reference inside an already verified token, public",
	"app/catalog/checksums.go: hex.EncodeToString(h.Sum(nil)) != key":                            "a stored file's SHA-256 against its own storage key (the backfill's integrity check), nothing secret",
}

// secretOperand reports whether e names a secret: an identifier or the
// last selector of a field, seen through conversions like string(x) and
// []byte(x) and through pointer dereferences. len(x), literals and nil do
// not.
func secretOperand(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name != "nil" && secretName.MatchString(x.Name)
	case *ast.SelectorExpr:
		return secretName.MatchString(x.Sel.Name)
	case *ast.StarExpr:
		return secretOperand(x.X)
	case *ast.ParenExpr:
		return secretOperand(x.X)
	case *ast.CallExpr:
		if len(x.Args) != 1 {
			return false
		}
		switch f := x.Fun.(type) {
		case *ast.Ident:
			if f.Name == "string" {
				return secretOperand(x.Args[0])
			}
		case *ast.ArrayType:
			return secretOperand(x.Args[0])
		}
	}
	return false
}

// constantish reports operands that make a comparison harmless whatever
// the other side is: literals, nil, len(...).
func constantish(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "true" || x.Name == "false"
	case *ast.CallExpr:
		if f, ok := x.Fun.(*ast.Ident); ok && (f.Name == "len" || f.Name == "cap") {
			return true
		}
	}
	return false
}

// equalFuncs are the variable-time equality functions, by package.
var equalFuncs = map[string]map[string]bool{
	"bytes":   {"Equal": true, "Compare": true, "EqualFold": true, "HasPrefix": true},
	"strings": {"EqualFold": true, "Compare": true},
	"reflect": {"DeepEqual": true},
}

// finding is one comparison of a secret: where, and its allow-list key.
type finding struct{ pos, key string }

// check returns the variable-time comparisons of secrets in one file.
func check(fset *token.FileSet, f *ast.File, rel string) []finding {
	var out []finding
	add := func(n ast.Node) {
		out = append(out, finding{pos: fset.Position(n.Pos()).String(), key: rel + ": " + exprString(fset, n)})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BinaryExpr:
			if x.Op != token.EQL && x.Op != token.NEQ {
				return true
			}
			if constantish(x.X) && constantish(x.Y) {
				return true
			}
			if (secretOperand(x.X) && !constantish(x.Y)) || (secretOperand(x.Y) && !constantish(x.X)) {
				add(x)
			}
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || !equalFuncs[pkg.Name][sel.Sel.Name] {
				return true
			}
			for _, a := range x.Args {
				if secretOperand(a) {
					add(x)
					break
				}
			}
		}
		return true
	})
	return out
}

func exprString(fset *token.FileSet, n ast.Node) string {
	var b strings.Builder
	if err := printNode(&b, fset, n); err != nil {
		return "?"
	}
	return b.String()
}

func TestSecretsComparedInConstantTime(t *testing.T) {
	used := map[string]bool{}
	// Tests compare what they made themselves, and so do the test helper
	// packages (dbtest, webtest, mailtest); generated code, which the walk
	// passes over, compares protocol fields.
	keep := func(rel string) bool {
		return !strings.HasSuffix(rel, "_test.go") && !strings.Contains(rel, "test/")
	}
	files := sourcescan.Walk(t, sourcescan.Root(t), keep, func(fset *token.FileSet, f *ast.File, rel string) {
		for _, fd := range check(fset, f, rel) {
			if _, ok := allowed[fd.key]; ok {
				used[fd.key] = true
				continue
			}
			t.Errorf("%s: %q compares a secret in variable time: use crypto/subtle.ConstantTimeCompare or hmac.Equal, or look it up by its hash (or add it to the allow-list with the reason it is safe)", fd.pos, fd.key)
		}
	})
	if files < 200 {
		t.Fatalf("only %d files read: is the walk rooted at the repository?", files)
	}
	sourcescan.CheckAllowList(t, allowed, used)
}

// TestCheckFlags shows the check catches what it is for, and lets pass
// what it should, on a file written here.
func TestCheckFlags(t *testing.T) {
	src := `package p
import ("bytes"; "crypto/subtle"; "strings")
func f(token, want string, sig, mac []byte, k struct{ Secret string }, n int, answer *string) {
	_ = token == want              // flagged
	_ = want != token              // flagged
	_ = k.Secret == want           // flagged
	_ = bytes.Equal(sig, mac)      // flagged
	_ = strings.EqualFold(want, *answer) // flagged
	_ = string(sig) == want        // flagged
	_ = token == ""                // fine: emptiness
	_ = len(token) != 40           // fine: length
	_ = sig == nil                 // fine
	_ = n == 3                     // fine: no secret
	_ = subtle.ConstantTimeCompare(sig, mac) == 1 // fine
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range check(fset, f, "p.go") {
		got = append(got, strings.TrimPrefix(fd.key, "p.go: "))
	}
	want := []string{"token == want", "want != token", "k.Secret == want", "bytes.Equal(sig, mac)", "strings.EqualFold(want, *answer)", "string(sig) == want"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("flagged %q, want %q", got, want)
	}
}
