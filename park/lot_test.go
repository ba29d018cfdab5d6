package park

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// checked returns a lot whose invariant is checked when the test ends.
func checked(t *testing.T, orbits ...string) *Lot {
	t.Helper()
	l := NewLot(orbits)
	t.Cleanup(func() { require.NoError(t, l.Check(), "lot invariant") })
	return l
}

func req(key string) ParkRequest { return ParkRequest{Key: key, Parker: "alice", Parkee: "bob"} }

func TestCallParkOrbitsListsOnlyThePoolsCallParkRanges(t *testing.T) {
	ranges := []OrbitRange{
		orbit("park-a", "7000", "7002"),
		onPool(orbit("park-b", "7100", "7101"), pool2),
		pickupRange("pickup", "100", "101", pool1),
		onPool(orbit("park-c", "*101", "*102"), "ApplicationServer:POOL01.contoso.com"),
	}
	assert.Equal(t, []string{"7000", "7001", "7002", "*101", "*102"}, CallParkOrbits(ranges, pool1))
	assert.Equal(t, []string{"7100", "7101"}, CallParkOrbits(ranges, pool2))
}

func TestParkAllocatesTheLeastRecentlyFreedOrbit(t *testing.T) {
	tests := []struct {
		name string
		run  func(l *Lot) []string // returns the orbits allocated, in order
		want []string
	}{
		{"never used orbits go first, in order", func(l *Lot) []string {
			return []string{mustPark(t, l, "a").Orbit, mustPark(t, l, "b").Orbit}
		}, []string{"7000", "7001"}},
		{"a freed orbit waits behind never used ones", func(l *Lot) []string {
			a := mustPark(t, l, "a")
			_, err := l.Retrieve(a.Orbit)
			require.NoError(t, err)
			return []string{mustPark(t, l, "b").Orbit, mustPark(t, l, "c").Orbit, mustPark(t, l, "d").Orbit}
		}, []string{"7001", "7002", "7000"}},
		{"freed orbits come back in the order they were freed", func(l *Lot) []string {
			ps := []Parked{mustPark(t, l, "a"), mustPark(t, l, "b"), mustPark(t, l, "c")}
			l.Leave(ps[2].Orbit, ps[2].ID)
			l.Leave(ps[0].Orbit, ps[0].ID)
			return []string{mustPark(t, l, "d").Orbit, mustPark(t, l, "e").Orbit}
		}, []string{"7002", "7000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := checked(t, "7000", "7001", "7002")
			assert.Equal(t, tc.want, tc.run(l))
		})
	}
}

func mustPark(t *testing.T, l *Lot, key string) Parked {
	t.Helper()
	p, err := l.Park(req(key), DefaultCPSConfig(), t0)
	require.NoError(t, err)
	return p
}

func TestParkRejections(t *testing.T) {
	tests := []struct {
		name    string
		orbits  []string
		before  []string // keys parked first
		key     string
		wantErr error
	}{
		{"no free orbit (35002)", []string{"7000"}, []string{"a"}, "b", ErrNoFreeOrbit},
		{"no orbit at all (35002)", nil, nil, "a", ErrNoFreeOrbit},
		{"double park (35006)", []string{"7000", "7001"}, []string{"a"}, "a", ErrDoublePark},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := checked(t, tc.orbits...)
			for _, k := range tc.before {
				mustPark(t, l, k)
			}
			free := l.FreeCount()
			_, err := l.Park(req(tc.key), DefaultCPSConfig(), t0)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, free, l.FreeCount(), "a refused park changes nothing")
		})
	}
}

// A conversation parked once was ended by the transfer that parked it: once it has left
// its orbit it is not parked again; while it is on it, parking it again is a double park.
func TestAConversationParkedBeforeIsNotParkedAgain(t *testing.T) {
	l := checked(t, "7000", "7001")
	again := req("a")
	again.ParkedBefore = true
	p := mustPark(t, l, "a")
	_, err := l.Park(again, DefaultCPSConfig(), t0)
	require.ErrorIs(t, err, ErrDoublePark, "still on its orbit")
	_, err = l.Retrieve(p.Orbit)
	require.NoError(t, err)
	free := l.FreeCount()
	_, err = l.Park(again, DefaultCPSConfig(), t0)
	var parkedAgain *ParkedAgainError
	require.ErrorAs(t, err, &parkedAgain)
	assert.Equal(t, "a", parkedAgain.Key)
	assert.Equal(t, "the conversation a was parked already and has left its orbit", err.Error())
	assert.Equal(t, free, l.FreeCount(), "a refused park changes nothing")
}

func TestRetrieveAnEmptyOrbitIsOrbitNotFound(t *testing.T) {
	l := checked(t, "7000")
	_, err := l.Retrieve("7000")
	require.ErrorIs(t, err, ErrOrbitEmpty)
	_, err = l.Retrieve("9999")
	require.ErrorIs(t, err, ErrOrbitEmpty)
	p := mustPark(t, l, "a")
	got, err := l.Retrieve("7000")
	require.NoError(t, err)
	assert.Equal(t, p, got)
	_, err = l.Retrieve("7000")
	require.ErrorIs(t, err, ErrOrbitEmpty, "a retrieved call is gone")
}

func TestParkSetsTheFirstRingBackAfterTheThreshold(t *testing.T) {
	l := checked(t, "7000")
	cfg := DefaultCPSConfig()
	cfg.CallPickupTimeoutThreshold = 30 * time.Second
	p, err := l.Park(req("a"), cfg, t0)
	require.NoError(t, err)
	assert.Equal(t, t0, p.ParkedAt)
	assert.Equal(t, t0.Add(30*time.Second), p.Due)
}

// TestRingBacks follows a parked call nobody retrieves through its ring-backs, for the
// documented MaxCallPickupAttempts and OnTimeoutURI combinations.
func TestRingBacks(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		fallback string
		want     []TimeoutAction // after each unanswered ring-back
	}{
		{"1 attempt, no OnTimeoutURI: disconnect", 1, "", []TimeoutAction{Disconnect}},
		{"1 attempt, OnTimeoutURI: forward", 1, "sip:dave@contoso.com", []TimeoutAction{Forward}},
		{"3 attempts, no OnTimeoutURI", 3, "", []TimeoutAction{Repark, Repark, Disconnect}},
		{"3 attempts, OnTimeoutURI", 3, "sip:dave@contoso.com", []TimeoutAction{Repark, Repark, Forward}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := CPSConfig{CallPickupTimeoutThreshold: 10 * time.Second, MaxCallPickupAttempts: tc.attempts, OnTimeoutURI: tc.fallback}
			require.NoError(t, cfg.Validate())
			l := checked(t, "7000")
			p, err := l.Park(req("a"), cfg, t0)
			require.NoError(t, err)
			now := t0
			for i, want := range tc.want {
				now = now.Add(10 * time.Second)
				rb, ok := l.Expire(p.Orbit, p.ID)
				require.True(t, ok, "ring-back %d", i+1)
				assert.Equal(t, i+1, rb.RingBacks)
				_, again := l.Expire(p.Orbit, p.ID)
				assert.False(t, again, "one ring-back at a time")
				now = now.Add(20 * time.Second)
				d, ok := l.RingBackFailed(p.Orbit, p.ID, cfg, now)
				require.True(t, ok)
				assert.Equal(t, want, d.Action, "after ring-back %d", i+1)
				switch want {
				case Repark:
					assert.Equal(t, now.Add(10*time.Second), d.Call.Due)
					assert.Equal(t, 0, l.FreeCount())
				case Forward:
					assert.Equal(t, tc.fallback, d.Target)
					assert.Equal(t, 1, l.FreeCount())
				case Disconnect:
					assert.Equal(t, 1, l.FreeCount())
				}
			}
		})
	}
}

func TestStaleTimersAndLeavesAreIgnored(t *testing.T) {
	l := checked(t, "7000")
	first := mustPark(t, l, "a")
	_, ok := l.Leave(first.Orbit, first.ID)
	require.True(t, ok, "the parkee hangs up")
	_, ok = l.Leave(first.Orbit, first.ID)
	assert.False(t, ok, "a second hang-up frees nothing")
	second := mustPark(t, l, "b")
	require.Equal(t, first.Orbit, second.Orbit)
	_, ok = l.Expire(first.Orbit, first.ID)
	assert.False(t, ok, "the first call's timer does not ring back the second call")
	_, ok = l.RingBackFailed(first.Orbit, first.ID, DefaultCPSConfig(), t0)
	assert.False(t, ok)
	_, ok = l.Leave(first.Orbit, first.ID)
	assert.False(t, ok)
	got, ok := l.Get(second.Orbit)
	require.True(t, ok)
	assert.Equal(t, second, got)
}

func TestRingBackAnsweredFreesTheOrbit(t *testing.T) {
	l := checked(t, "7000")
	p := mustPark(t, l, "a")
	_, ok := l.Expire(p.Orbit, p.ID)
	require.True(t, ok)
	_, ok = l.Leave(p.Orbit, p.ID)
	require.True(t, ok)
	assert.Equal(t, 1, l.FreeCount())
	assert.Empty(t, l.Calls())
}

func TestSetOrbitsFollowsTheOrbitTable(t *testing.T) {
	l := checked(t, "7000", "7001")
	p := mustPark(t, l, "a") // 7000
	l.SetOrbits([]string{"7001", "7002"})
	got, ok := l.Get("7000")
	require.True(t, ok, "a call on a removed orbit stays parked")
	assert.Equal(t, p, got)
	assert.Equal(t, "7001", mustPark(t, l, "b").Orbit)
	assert.Equal(t, "7002", mustPark(t, l, "c").Orbit)
	_, ok = l.Leave(p.Orbit, p.ID)
	require.True(t, ok)
	_, err := l.Park(req("d"), DefaultCPSConfig(), t0)
	require.ErrorIs(t, err, ErrNoFreeOrbit, "the removed orbit is not reused")
	l.SetOrbits([]string{"7001", "7002", "7003"})
	assert.Equal(t, "7003", mustPark(t, l, "d").Orbit)
}

func TestCheckFindsLeaksAndDoubleHolds(t *testing.T) {
	l := NewLot([]string{"7000", "7001"})
	mustPark(t, l, "a")
	require.NoError(t, l.Check())
	l.fresh = l.fresh[:0] // lose 7001
	assert.ErrorContains(t, l.Check(), "orbit 7001 is leaked")
	l.fresh = []string{"7001", "7000"}
	assert.ErrorContains(t, l.Check(), "orbit 7000 is both free and held")
}

// Busy lamps learn of every park and every freed orbit.
func TestLotReportsChanges(t *testing.T) {
	l := NewLot([]string{"7000", "7001"})
	n := 0
	l.OnChange(func() { n++ })
	p, err := l.Park(req("a"), DefaultCPSConfig(), t0)
	require.NoError(t, err)
	q, err := l.Park(req("b"), DefaultCPSConfig(), t0)
	require.NoError(t, err)
	_, err = l.Retrieve(p.Orbit)
	require.NoError(t, err)
	l.Leave(q.Orbit, q.ID)
	l.Leave(q.Orbit, q.ID) // gone already: no change
	assert.Equal(t, 4, n)
}
