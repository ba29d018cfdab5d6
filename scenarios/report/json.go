package report

import (
	"encoding/json"
	"io"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

// jsonReport is the JSON timeline: per scenario, its steps and every SIP message, times in
// milliseconds since the replay began.
type jsonReport struct {
	Passed    int            `json:"passed"`
	Failed    int            `json:"failed"`
	Scenarios []jsonScenario `json:"scenarios"`
}

type jsonScenario struct {
	Name       string        `json:"name"`
	File       string        `json:"file"`
	Passed     bool          `json:"passed"`
	Error      string        `json:"error,omitempty"`
	WallMS     float64       `json:"wall_ms"`
	SimulatedS float64       `json:"simulated_s"`
	Warnings   []string      `json:"warnings,omitempty"`
	Failures   []string      `json:"failures,omitempty"`
	Lanes      []runner.Lane `json:"lanes"`
	Timeline   []jsonEvent   `json:"timeline"`
}

type jsonEvent struct {
	Type string  `json:"type"` // "step" or "sip"
	AtMS float64 `json:"at_ms"`
	// step
	Line      int      `json:"line,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Text      string   `json:"text,omitempty"`
	SimS      *float64 `json:"sim_s,omitempty"`
	ElapsedMS float64  `json:"elapsed_ms,omitempty"`
	Passed    *bool    `json:"passed,omitempty"`
	Detail    string   `json:"detail,omitempty"`
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
		js := jsonScenario{Name: r.Name, File: r.File, Passed: r.Passed, Error: r.Error, WallMS: ms(r.Wall.Seconds()),
			SimulatedS: r.Simulated.Seconds(), Warnings: r.Warnings, Lanes: r.Lanes}
		for _, f := range r.Failures {
			js.Failures = append(js.Failures, f.String())
		}
		js.Timeline = timeline(r)
		rep.Scenarios = append(rep.Scenarios, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func ms(s float64) float64 { return float64(int64(s*1e6)) / 1e3 }

// timeline merges steps and messages: a step comes before the messages it caused.
func timeline(r runner.Result) []jsonEvent {
	var out []jsonEvent
	mi := 0
	for i, st := range r.Steps {
		for mi < len(r.Messages) && r.Messages[mi].Step < i {
			out = append(out, sipEvent(r.Messages[mi]))
			mi++
		}
		sim, passed := st.SimTime.Seconds(), st.Passed
		out = append(out, jsonEvent{Type: "step", AtMS: ms(st.Start.Seconds()), Line: st.Line, Kind: string(st.Kind),
			Text: st.Text, SimS: &sim, ElapsedMS: ms(st.Elapsed.Seconds()), Passed: &passed, Detail: st.Detail})
	}
	for ; mi < len(r.Messages); mi++ {
		out = append(out, sipEvent(r.Messages[mi]))
	}
	return out
}

func sipEvent(m runner.Message) jsonEvent {
	return jsonEvent{Type: "sip", AtMS: ms(m.At.Seconds()), From: m.From, To: m.To, Summary: m.Summary, Raw: m.Raw}
}
