package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// maxLogMessage bounds one log message of a plugin; longer ones are cut.
const maxLogMessage = 4 << 10

// newLogBridge returns the hclog logger go-plugin wants, writing into
// logger: go-plugin's own messages and the plugin's stderr lines (JSON
// lines from sdk.Logger keep their level and attributes; other lines are
// logged at debug level) become slog records with plugin=name.
func newLogBridge(logger *slog.Logger, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      hclog.Debug,
		JSONFormat: true,
		Output:     &slogWriter{logger: logger.With("plugin", name)},
	})
}

// slogWriter turns hclog's JSON lines into slog records.
type slogWriter struct {
	mu     sync.Mutex
	logger *slog.Logger
}

func (w *slogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range bytes.Split(p, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) > 0 {
			w.line(line)
		}
	}
	return len(p), nil
}

func (w *slogWriter) line(line []byte) {
	var entry map[string]any
	if err := json.Unmarshal(line, &entry); err != nil {
		w.logger.Debug(cut(string(line)))
		return
	}
	msg, _ := entry["@message"].(string)
	lvl, _ := entry["@level"].(string)
	level := slog.LevelInfo
	switch strings.ToLower(lvl) {
	case "trace", "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	attrs := make([]any, 0, 2*len(entry))
	for k, v := range entry {
		switch k {
		case "@message", "@level", "@timestamp", "@module", "@caller", "timestamp":
			continue
		}
		if s, ok := v.(string); ok {
			v = cut(s)
		}
		attrs = append(attrs, k, v)
	}
	w.logger.Log(context.Background(), level, cut(msg), attrs...)
}

func cut(s string) string {
	if len(s) > maxLogMessage {
		return s[:maxLogMessage] + "…"
	}
	return s
}
