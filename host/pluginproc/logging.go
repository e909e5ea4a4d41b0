package pluginproc

import (
	"bytes"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
)

// newHCLogger bridges go-plugin's hclog to the host's zap logger, so the
// plugin's JSON log lines come out in baton's log format and level.
func newHCLogger(z *zap.Logger) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "plugin", Output: io.Discard, Level: hclog.Trace})
	l.RegisterSink(zapSink{z})
	return l
}

type zapSink struct{ z *zap.Logger }

func (s zapSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	fields := make([]zap.Field, 0, len(args)/2+1)
	fields = append(fields, zap.String("logger", name))
	for i := 0; i+1 < len(args); i += 2 {
		fields = append(fields, zap.Any(fmt.Sprint(args[i]), args[i+1]))
	}
	switch {
	case level <= hclog.Debug, level == hclog.Info && msg == "plugin process exited":
		// A clean exit is routine; the run's own last line says what it did.
		s.z.Debug(msg, fields...)
	case level == hclog.Info:
		s.z.Info(msg, fields...)
	case level == hclog.Warn:
		s.z.Warn(msg, fields...)
	default:
		s.z.Error(msg, fields...)
	}
}

// zapWriter logs what the plugin writes to its stdout or stderr after the
// handshake (go-plugin forwards it), one entry per line.
type zapWriter struct{ z *zap.Logger }

func (w zapWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		if line = bytes.TrimRight(line, "\r\n"); len(line) > 0 {
			w.z.Info(string(line))
		}
	}
	return len(p), nil
}
