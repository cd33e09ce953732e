package main

import (
	"context"
	"fmt"
	"runtime"
)

func runVersion(_ context.Context, c *cli, args []string) error {
	fs := newFlags(c, "version", "version")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "licensor %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
