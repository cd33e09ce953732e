// Package cluster holds the many-nodes test and the fault tests: real
// licensor processes on one PostgreSQL (behind nginx where the test needs
// it), as docs/deploy.md describes a deployment, broken under load
// (database restarted, nodes stopped or killed mid-request, mid-job and
// mid-import, SMTP server and webhook receiver down, a plugin killed, the
// disk full) and checked afterwards for anything lost or done twice. It has
// no code of its own; scripts/cluster-demo.sh starts the same set-up for a
// person to try (`make cluster-demo`).
package cluster
