package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// progress writes replay output. On a terminal it keeps a live last line,
// "[k/N] running <scenario>", overwritten as scenarios start and finish; result lines are
// printed above it. Elsewhere (CI logs, pipes) it writes the plain result lines only.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	live    bool
	width   int
	files   []string
	running map[int]bool
	shown   bool // a live line is on screen
}

func newProgress(out io.Writer, files []string, live bool) *progress {
	return &progress{out: out, live: live, width: termWidth(), files: files, running: map[int]bool{}}
}

// isTerminal reports whether w is a terminal (a character device), without a dependency
// on golang.org/x/term. TERM=dumb (Emacs shells, some CI runners) counts as not one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// termWidth is $COLUMNS, or 80: the live line is cut to fit, since a wrapped line cannot be
// overwritten with a carriage return.
func termWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
		return n
	}
	return 80
}

// started marks scenario i as running.
func (p *progress) started(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[i] = true
	p.redraw()
}

// stopped marks scenario i as no longer running.
func (p *progress) stopped(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, i)
	p.redraw()
}

// print prints a scenario's result lines (write does the printing) above the live line.
func (p *progress) print(write func(io.Writer)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	write(p.out)
	p.redraw()
}

// close removes the live line before the summary.
func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) redraw() {
	if !p.live || len(p.running) == 0 {
		p.clear()
		return
	}
	idx := make([]int, 0, len(p.running))
	for i := range p.running {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	names := make([]string, len(idx))
	for j, i := range idx {
		names[j] = filepath.Base(p.files[i])
	}
	line := fmt.Sprintf("[%d/%d] running %s", idx[0]+1, len(p.files), strings.Join(names, ", "))
	if r := []rune(line); len(r) > p.width-1 {
		line = string(r[:p.width-2]) + "…"
	}
	fmt.Fprint(p.out, "\r\x1b[K"+line)
	p.shown = true
}
