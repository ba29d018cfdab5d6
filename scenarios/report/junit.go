package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/pickupsim/pickupsim/scenarios/runner"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes one test case per scenario, failed with every failure's file:line.
func JUnit(w io.Writer, results []runner.Result) error {
	s := junitSuite{Name: "pickupsim replay"}
	for _, r := range results {
		c := junitCase{Name: r.Name, Classname: "scenarios", File: r.File, Time: r.Wall.Seconds()}
		var lines []string
		if r.Error != "" {
			lines = append(lines, r.Error)
		}
		for _, f := range r.Failures {
			lines = append(lines, f.String())
		}
		if !r.Passed {
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d failures", max(len(r.Failures), 1)), Text: strings.Join(lines, "\n")}
			s.Failures++
		}
		var steps []string
		for _, st := range r.Steps {
			steps = append(steps, fmt.Sprintf("%s:%d %s: %s", r.File, st.Line, st.Text, st.Detail))
		}
		c.SystemOut = strings.Join(steps, "\n")
		s.Cases = append(s.Cases, c)
		s.Tests++
		s.Time += c.Time
	}
	out := junitSuites{Tests: s.Tests, Failures: s.Failures, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
