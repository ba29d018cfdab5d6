package scenario

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by every load error, so callers can tell a bad file from an
// I/O failure with errors.Is.
var ErrMalformed = errors.New("malformed scenario")

// Error is one problem in a scenario or topology file, at a line.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error renders "file:line: msg", the form editors and CI systems link to.
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Unwrap makes every Error match ErrMalformed.
func (e *Error) Unwrap() error { return ErrMalformed }

// ErrorList is every problem found in one file, in line order.
type ErrorList []*Error

// Error renders one problem per line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
