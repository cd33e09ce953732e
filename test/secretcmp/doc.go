// Package secretcmp holds the repository-wide check that secrets are
// compared in constant time (docs/architecture.md, "Comparing secrets"):
// its test parses every non-test Go file and fails on ==, != or
// bytes.Equal/strings.EqualFold/strings.Compare/reflect.DeepEqual where an
// operand is named like a secret, unless the comparison is on the
// allow-list with the reason it is safe. It has no code of its own.
package secretcmp
