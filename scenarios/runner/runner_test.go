package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A deliberately wrong expectation fails with its file:line, what was expected and what
// happened, and the replay goes on to report the later failures too.
func TestWrongExpectationsReportFileLine(t *testing.T) {
	res := RunFile("testdata/wrong.yaml", Options{Eventually: 300 * time.Millisecond})
	require.Empty(t, res.Error)
	assert.False(t, res.Passed)
	var got []string
	for _, f := range res.Failures {
		got = append(got, f.String())
	}
	joined := strings.Join(got, "\n")
	assert.Contains(t, joined, "testdata/wrong.yaml:15: expect: expected call c1 (alice to bob) established, got ringing")
	assert.Contains(t, joined, "testdata/wrong.yaml:18: expect: expected call p1 (carol to 100) failed")
	assert.Contains(t, joined, "testdata/wrong.yaml:18: expect: expected status 404, got no final error response")
	assert.Contains(t, joined, "testdata/wrong.yaml:21: failover: expected success, got Invoke-CsPoolFailOver -DisasterMode on pool01.contoso.com")
	assert.Len(t, res.Failures, 4, joined)
	assert.Len(t, res.Steps, 9, "every step ran")
	assert.True(t, res.Steps[7].Passed, "an expected error passes: %s", res.Steps[7].Detail)
	assert.NotEmpty(t, res.Messages, "SIP messages are traced")
	assert.Equal(t, "pool01.contoso.com", res.Lanes[0].Name)
}

// A malformed file runs nothing and reports file:line.
func TestMalformedFileRunsNothing(t *testing.T) {
	res := RunFile("testdata/malformed.yaml", Options{})
	assert.False(t, res.Passed)
	assert.Contains(t, res.Error, "testdata/malformed.yaml:3: unknown step \"ring\"")
	assert.Empty(t, res.Steps)
}
