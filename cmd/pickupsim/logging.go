package main

import (
	"log/slog"

	gosip "github.com/emiago/sipgo/sip"
)

// useAsDefaultLogger makes log the process-wide default: log/slog's (and so the standard
// log package's) and sipgo's package-level logger, which its transports and parser use
// before a pool's own logger is known. With --log-format json every line serve prints to
// its log is then JSON, sipgo's included. Process-wide, so only the command calls it,
// never serve() (which tests run in-process).
func useAsDefaultLogger(log *slog.Logger) {
	slog.SetDefault(log)
	gosip.SetDefaultLogger(log)
}
