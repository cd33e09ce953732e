package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/sdk"
)

// RegisterImportFormats adds every installed import format plugin to reg,
// named after the plugin and chosen by its manifest's extensions; a file
// it reads goes through the same preview, validation and import as CSV.
// A plugin whose extension is taken (by a built-in format) is skipped and
// logged.
func RegisterImportFormats(reg *imports.Registry, s *Service) {
	for _, p := range s.host.List() {
		if p.Manifest.Kind != sdk.KindImportFormat || len(p.Manifest.Extensions) == 0 {
			continue
		}
		f := importFormat(s.host.ImportFormat(p.Name), p)
		if err := reg.Register(f); err != nil {
			s.log.Warn("import format plugin not registered", "plugin", p.Name, "err", err)
		}
	}
}

func importFormat(plugin *host.ImportFormat, p host.Plugin) imports.Format {
	label := strings.TrimPrefix(strings.ToUpper(p.Manifest.Extensions[0]), ".")
	return imports.Format{
		Name:       p.Name,
		Label:      fmt.Sprintf("%s (plugin %s)", label, p.Name),
		Extensions: p.Manifest.Extensions,
		Open: func(content []byte) (imports.Source, error) {
			// The target is not known here: plugins read the same
			// header-named columns for either kind.
			parsed, err := plugin.Parse(context.Background(), "upload"+p.Manifest.Extensions[0], "", content)
			var perr *host.PluginError
			switch {
			case errors.As(err, &perr):
				return nil, &imports.FileError{Message: perr.Message}
			case err != nil:
				return nil, &imports.FileError{Message: fmt.Sprintf("The %s plugin could not read the file: %v", p.Name, err)}
			}
			return &pluginSource{parsed: parsed}, nil
		},
	}
}

// pluginSource yields what the plugin read.
type pluginSource struct {
	parsed host.Parsed
	next   int
}

func (s *pluginSource) Columns() []string { return s.parsed.Columns }

func (s *pluginSource) Next() (imports.Record, error) {
	if s.next >= len(s.parsed.Records) {
		return imports.Record{}, io.EOF
	}
	r := s.parsed.Records[s.next]
	s.next++
	rec := imports.Record{Line: r.Line, Fields: r.Fields}
	if r.Error != "" {
		rec.Err = errors.New(r.Error)
	}
	return rec, nil
}
