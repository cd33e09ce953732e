// Package importrules holds the test that the import rules of
// docs/architecture.md are enforced: a forbidden import added in a scratch
// copy of the repository fails golangci-lint. It has no code of its own.
package importrules
