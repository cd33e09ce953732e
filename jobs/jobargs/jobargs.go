// Package jobargs holds only the argument types of Licensor's River jobs, so
// domain packages can enqueue a job inside their own transaction (InsertTx)
// without importing the workers in jobs/.
package jobargs

// PruneExpired removes expired sessions, CSRF tokens, CAPTCHA answers and
// old rate-limit windows.
type PruneExpired struct{}

// Kind is River's name for the job.
func (PruneExpired) Kind() string { return "prune_expired" }
