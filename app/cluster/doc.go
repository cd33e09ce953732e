// Package cluster holds the many-nodes test: real licensor processes on one
// PostgreSQL behind nginx, as docs/deploy.md describes a deployment. It has
// no code of its own; scripts/cluster-demo.sh starts the same set-up for a
// person to try (`make cluster-demo`).
package cluster
