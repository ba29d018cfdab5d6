package report

import (
	"encoding/json"
	"io"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// jsonReport is the JSON timeline: per scenario, its steps and every SIP message, on the
// replay's virtual clock. It holds nothing the machine chose (wall times, ports, random
// tags): two replays of the library with one seed write the same bytes, so a diff of two
// reports shows what changed in the simulator, not in the machine (runner.Canonical).
type jsonReport struct {
	Passed    int            `json:"passed"`
	Failed    int            `json:"failed"`
	Scenarios []jsonScenario `json:"scenarios"`
}

type jsonScenario struct {
	Name       string      `json:"name"`
	File       string      `json:"file"`
	Passed     bool        `json:"passed"`
	Error      string      `json:"error,omitempty"`
	SimulatedS float64     `json:"simulated_s"`
	Warnings   []string    `json:"warnings,omitempty"`
	Failures   []string    `json:"failures,omitempty"`
	Lanes      []jsonLane  `json:"lanes"`
	Timeline   []jsonEvent `json:"timeline"`
}

// jsonLane is a lane by name: messages name their ends by it.
type jsonLane struct {
	Name string `json:"name"`
	Pool bool   `json:"pool,omitempty"`
}

type jsonEvent struct {
	Type string `json:"type"` // "step" or "sip"
	// SimMS is the virtual time, in milliseconds since the replay's clock started.
	SimMS float64 `json:"sim_ms"`
	// step
	Line   int    `json:"line,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Text   string `json:"text,omitempty"`
	Passed *bool  `json:"passed,omitempty"`
	Detail string `json:"detail,omitempty"`
	// sip
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Summary string `json:"summary,omitempty"`
	Raw     string `json:"raw,omitempty"`
}

// JSON writes the timeline of every scenario: steps and SIP messages merged in time order.
func JSON(w io.Writer, results []runner.Result) error {
	var rep jsonReport
	for _, r := range results {
		if r.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
		msgs, sym := runner.Canonical(r)
		js := jsonScenario{Name: r.Name, File: r.File, Passed: r.Passed, Error: sym(r.Error),
			SimulatedS: r.Simulated.Seconds()}
		for _, w := range r.Warnings {
			js.Warnings = append(js.Warnings, sym(w))
		}
		for _, l := range r.Lanes {
			js.Lanes = append(js.Lanes, jsonLane{Name: l.Name, Pool: l.Pool})
		}
		for _, f := range r.Failures {
			js.Failures = append(js.Failures, sym(f.String()))
		}
		js.Timeline = timeline(r, msgs, sym)
		rep.Scenarios = append(rep.Scenarios, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func ms(s float64) float64 { return float64(int64(s*1e6)) / 1e3 }

// timeline merges steps and messages: a step comes before the messages it caused, which
// come in their canonical order (runner.Canonical).
func timeline(r runner.Result, msgs []runner.Message, sym func(string) string) []jsonEvent {
	var out []jsonEvent
	mi := 0
	for i, st := range r.Steps {
		for mi < len(msgs) && msgs[mi].Step < i {
			out = append(out, sipEvent(msgs[mi]))
			mi++
		}
		passed := st.Passed
		out = append(out, jsonEvent{Type: "step", SimMS: ms(st.SimTime.Seconds()), Line: st.Line, Kind: string(st.Kind),
			Text: st.Text, Passed: &passed, Detail: sym(st.Detail)})
	}
	for ; mi < len(msgs); mi++ {
		out = append(out, sipEvent(msgs[mi]))
	}
	return out
}

func sipEvent(m runner.Message) jsonEvent {
	return jsonEvent{Type: "sip", SimMS: ms(m.Sim.Seconds()), From: m.From, To: m.To, Summary: m.Summary, Raw: m.Raw}
}
