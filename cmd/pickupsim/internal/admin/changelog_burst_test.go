package admin

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/loadphone"
)

// TestChangeLogKeepsUpWithABurstWithoutRebuildingTheStatusPerChange: a burst of
// REGISTERs (each one a change the network reports) makes the change log compare the
// status at most every compareGap, not once per REGISTER (issue 14's benchmark: at 40,000
// users the per-change status took most of serve's CPU), and the log still shows the
// phones registering.
func TestChangeLogKeepsUpWithABurstWithoutRebuildingTheStatusPerChange(t *testing.T) {
	f := newFixture(t, "")
	p1, ok := f.net.Pool(pool01)
	require.True(t, ok)
	var phones []loadphone.PhoneConfig
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		phones = append(phones, loadphone.PhoneConfig{User: u, Registrars: []netip.AddrPort{netip.MustParseAddrPort(p1.Addr())}})
	}
	pop, err := loadphone.New(loadphone.Config{Domain: "contoso.com", Sockets: 2}, phones)
	require.NoError(t, err)
	defer pop.Close()

	time.Sleep(2 * compareGap) // the log's first look is done
	before := f.srv.compared.Load()
	start := time.Now()
	registers := 0
	for range 100 {
		for _, ph := range pop.Phones() {
			_, out := ph.Register()
			require.True(t, out.OK(), out.String())
			registers++
		}
	}
	elapsed := time.Since(start)
	time.Sleep(2 * compareGap) // the last burst's comparison
	compared := f.srv.compared.Load() - before
	allowed := int64(elapsed/compareGap) + 3
	assert.LessOrEqual(t, compared, allowed, "%d comparisons for %d REGISTERs in %s", compared, registers, elapsed)
	log := ""
	for _, e := range f.srv.changes.Entries() {
		log += e.Text + "\n"
	}
	for _, u := range []string{"alice", "dave"} {
		assert.True(t, strings.Contains(log, "user "+u+": offline -> normal on "+pool01), "the log shows %s registering:\n%s", u, log)
	}
}
