package secretcmp

import (
	"go/printer"
	"go/token"
	"io"
)

func printNode(w io.Writer, fset *token.FileSet, n any) error {
	return (&printer.Config{Mode: printer.RawFormat}).Fprint(w, fset, n)
}
