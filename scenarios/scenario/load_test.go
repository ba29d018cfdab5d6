package scenario

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
	"github.com/pickupsim/pickupsim/sip/phone"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// header is a valid inline topology; tests append steps after it (steps start at line 13).
const header = `name: t
topology:
  pools:
    - {fqdn: pool01.contoso.com, backup: pool02.contoso.com}
    - {fqdn: pool02.contoso.com, backup: pool01.contoso.com}
  users:
    - {name: alice, home: pool01}
    - {name: bob, home: pool01, pickup: 100}
  orbits:
    - {identity: g1, start: 100, end: 199, service: pool01, type: GroupPickup}
    - {identity: p1, start: 7000, end: 7099, service: pool01}
steps:
`

func parse(t *testing.T, body string) (*Scenario, error) {
	t.Helper()
	return Parse("s.yaml", []byte(body))
}

// Every step kind parses, with the example of the README.
func TestEveryStepKindParses(t *testing.T) {
	sc, err := parse(t, header+`  - register: [alice, bob]
  - call: {from: alice, to: bob, as: c1}
  - answer: c1
  - reject: {call: c1, code: 603, reason: Decline}
  - hangup: {call: c1, by: bob}
  - pickup: {from: alice, to: 100, as: p1}
  - dial: {from: alice, to: 7000, as: d1}
  - outage: pool01
  - recover: pool01
  - failover: {pool: pool01.contoso.com, error: not allowed}
  - failover-complete: pool01
  - failback: pool01
  - failback-complete: pool01
  - set-orbit: {identity: g1, service: pool02}
  - new-orbit: {identity: g2, start: 300, end: 399, service: pool02, type: GroupPickup}
  - remove-orbit: g2
  - set-cps: {pool: pool02, callPickupTimeoutThreshold: "00:02:00", maxCallPickupAttempts: 3, onTimeoutURI: "sip:op@contoso.com", enableMusicOnHold: false}
  - enable-pickup: {user: alice, number: 150}
  - disable-pickup: alice
  - advance: "00:05:00"
  - wait: 100ms
  - expect: {call: c1, state: established, callee-state: ringing, connected: bob, code: 480, diagnostic: 35000, warning: resiliency, cancel-reason: elsewhere, picked-up-by: alice, media: flowing}
  - expect: {user: alice, mode: resiliency, registrar: pool02, code: 200}
  - expect: {orbit: g1, owner: pool02}
  - expect: {queue: 100, length: 0}
  - expect: {pool: pool01, phase: failed-over, up: false}
  - park: {from: alice, call: c1, as: o1}
  - retrieve: {from: bob, orbit: o1, as: r1}
  - dial: {from: bob, to: o1, as: d2}
  - transfer: {from: bob, call: r1, to: alice, as: t1}
  - answer: {user: alice, as: rb}
  - add-pool: {fqdn: pool03.contoso.com, address: 127.0.0.1:5099}
  - move-users: {from: pool01, to: pool03}
  - remove-pool: pool01
  - pair-pools: [pool03, pool02]
  - reassign-orbits: {from: pool01, to: pool03}
  - expect: {orbit-number: o1, number: 7000, parked: true, parker: alice, parkee: bob, parked-on: pool03, music-on-hold: true, code: 480, diagnostic: 35002, warning: resiliency}
  - expect: {orbit-number: 7001, parked: false}
  - expect: {warnings: pickup-pool01, count: 1}
  - expect: {warnings: none}
  - expect: {user: alice, ringing: bob}
  - expect: {pool: pool03, cps: default}
  - expect: {pool: pool03, cps: {maxCallPickupAttempts: 2}}
  - subscribe: {user: alice, watch: [bob, 100, 7000]}
  - expect: {user: alice, lamp: {watching: bob, state: early, caller: bob}}
  - directed-pickup: {from: alice, to: bob, by: replaces, as: dp1}
  - directed-pickup: {from: alice, to: bob, as: dp2}
  - unsubscribe: {user: alice, watch: 7000}
`)
	require.NoError(t, err)
	seen := map[Kind]bool{}
	for _, s := range sc.Steps {
		seen[s.Kind] = true
	}
	for _, k := range Kinds {
		assert.True(t, seen[k], "kind %s", k)
	}
	assert.Equal(t, 13, sc.Steps[0].Line)
	assert.Equal(t, []string{"alice", "bob"}, sc.Steps[0].Users)
	assert.Equal(t, "pool01.contoso.com", sc.Steps[7].Pool, "short pool names resolve")
	assert.Equal(t, 603, sc.Steps[3].Code)
	assert.Equal(t, 300_000_000_000, int(sc.Steps[19].Duration))
	cps := sc.Steps[16].CPS
	assert.Equal(t, 3, *cps.MaxCallPickupAttempts)
	assert.False(t, *cps.EnableMusicOnHold)
	e := sc.Steps[21].Expect
	assert.Equal(t, phone.Established, *e.State)
	assert.True(t, e.Media)
	assert.Equal(t, topology.Resiliency, *sc.Steps[22].Expect.Mode)
	assert.Equal(t, topology.FailedOver, *sc.Steps[25].Expect.Phase)
	assert.Equal(t, "o1", sc.Steps[26].As)
	assert.Equal(t, "o1", sc.Steps[27].To, "retrieve names the park")
	assert.Equal(t, "pool03.contoso.com", sc.Steps[31].NewPool.FQDN)
	assert.Equal(t, "127.0.0.1:5099", sc.Steps[31].NewPool.Address)
	assert.Equal(t, "pool03.contoso.com", sc.Steps[32].ToPool, "a pool added by an earlier step resolves")
	assert.Equal(t, [2]string{"pool03.contoso.com", "pool02.contoso.com"}, [2]string{sc.Steps[34].FromPool, sc.Steps[34].ToPool})
	e = sc.Steps[36].Expect
	assert.Equal(t, "o1", e.OrbitNumber)
	assert.True(t, *e.Parked && *e.MusicOnHold)
	assert.Equal(t, "pool03.contoso.com", e.ParkedOn)
	assert.Equal(t, 1, *sc.Steps[38].Expect.WarningCount)
	assert.Equal(t, "none", sc.Steps[39].Expect.Warnings)
	assert.Equal(t, "bob", sc.Steps[40].Expect.Ringing)
	assert.Equal(t, park.DefaultCPSConfig(), *sc.Steps[41].Expect.CPS)
	assert.Equal(t, 2, sc.Steps[42].Expect.CPS.MaxCallPickupAttempts)
}

// outsiderHeader is header with one outsider (steps start at line 15).
var outsiderHeader = strings.Replace(header, "steps:\n", "outsiders:\n  - {name: pstn, via: pool01, uri: \"sip:+14255550100@gw.contoso.com\"}\nsteps:\n", 1)

// Issue 9.7: the scenario format can say what a rehearsal needs.
func TestScenarioFormatForRehearsals(t *testing.T) {
	sc, err := parse(t, outsiderHeader+`  - call: {from: pstn, to: bob, as: c1}
  - pickup: {from: pstn, to: 100, as: p1, error: "403"}
  - pickup: {from: alice, to: 100, as: p2, callerHangsUp: after-answer}
  - failover: {pool: pool01, disasterMode: false}
  - failover: pool01
  - set-orbit: {identity: g1, service: pool09, error: 'no pool named "pool09"'}
  - failover: {pool: pool7, error: no such pool}
  - enable-pickup: {user: zoe, number: 100, error: no user}
  - set-cps: {pool: pool01, onTimeoutURI: null}
  - expect: {pool: pool01, active-calls: 0}
`)
	require.NoError(t, err)
	require.Len(t, sc.Outsiders, 1)
	assert.Equal(t, Outsider{Name: "pstn", Via: "pool01.contoso.com", URI: "sip:+14255550100@gw.contoso.com"}, sc.Outsiders[0])
	assert.Equal(t, "pstn", sc.Steps[0].From)
	assert.Equal(t, "after-answer", sc.Steps[2].CallerHangsUp)
	assert.True(t, sc.Steps[3].Planned, "disasterMode: false is a planned failover")
	assert.False(t, sc.Steps[4].Planned, "failover: pool01 is Invoke-CsPoolFailOver -DisasterMode")
	assert.Equal(t, "pool09", *sc.Steps[5].Change.CallParkService, "a pool name that does not exist goes to run time, where the cmdlet refuses it")
	assert.Equal(t, "pool7", sc.Steps[6].Pool)
	assert.Equal(t, "zoe", sc.Steps[7].User)
	require.NotNil(t, sc.Steps[8].CPS.OnTimeoutURI)
	assert.Equal(t, "", *sc.Steps[8].CPS.OnTimeoutURI, "onTimeoutURI: null clears the fallback")
	assert.Nil(t, sc.Steps[8].CPS.MaxCallPickupAttempts, "set-cps names only what it changes")
	assert.Equal(t, 0, *sc.Steps[9].Expect.ActiveCalls)

	sc, err = parse(t, strings.Replace(header, "pickup: 100}", "pickup: 100, privateLine: \"4255550102\"}", 1)+"  - dial: {from: alice, to: \"4255550102\"}\n")
	require.NoError(t, err)
	assert.Equal(t, "4255550102", sc.Topology.Users[1].PrivateLine)
}

// Each malformed file is refused with file:line and what is wrong.
func TestMalformedFiles(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"bad yaml", "name: t\nsteps:\n  - a: b\n   c: d\n", "s.yaml:2: bad YAML"},
		{"unknown top key", "nam: x\n", "s.yaml:1: unknown key \"nam\""},
		{"no topology", "name: x\nsteps: []\n", "needs a topology"},
		{"unknown step", header + "  - ring: alice\n", "s.yaml:13: unknown step \"ring\""},
		{"two keys in step", header + "  - {outage: pool01, recover: pool01}\n", "s.yaml:13: a step is a mapping with exactly one key"},
		{"unknown user", header + "  - register: [alice, zoe]\n", "s.yaml:13: unknown user \"zoe\""},
		{"unknown call", header + "  - answer: c9\n", "s.yaml:13: unknown call \"c9\""},
		{"call reused", header + "  - call: {from: alice, to: bob, as: c1}\n  - call: {from: alice, to: bob, as: c1}\n", "s.yaml:14: call name \"c1\" is already used"},
		{"unknown pool", header + "  - outage: pool09\n", "s.yaml:13: unknown pool \"pool09\""},
		{"bad duration", header + "  - advance: 5 minutes\n", "s.yaml:13: advance: bad duration \"5 minutes\""},
		{"bad hms", header + "  - advance: \"00:61:00\"\n", "bad duration"},
		{"long wait", header + "  - wait: 1m\n", "wait 1m0s is real time"},
		{"invalid new orbit", header + "  - new-orbit: {identity: x, start: 100, end: 1999, service: pool01}\n", "s.yaml:13: invalid orbit range"},
		{"overlapping orbit", header + "  - new-orbit: {identity: x, start: 150, end: 160, service: pool02}\n", "overlap"},
		{"unknown orbit identity", header + "  - set-orbit: {identity: nope, service: pool02}\n", "s.yaml:13:"},
		{"removed orbit then set", header + "  - remove-orbit: g1\n  - set-orbit: {identity: g1, service: pool02}\n", "s.yaml:14:"},
		{"invalid topology orbit", strings.Replace(header, "end: 199", "end: 19", 1) + "  - outage: pool01\n", "s.yaml:10: invalid orbit range"},
		{"bad cps", header + "  - set-cps: {pool: pool01, maxCallPickupAttempts: 11}\n", "MaxCallPickupAttempts 11"},
		{"unknown expect key", header + "  - expect: {queue: 100, lenght: 1}\n", "s.yaml:13: unknown key \"lenght\""},
		{"expect two subjects", header + "  - expect: {queue: 100, pool: pool01, length: 1}\n", "two subjects"},
		{"expect wrong check", header + "  - expect: {queue: 100, mode: normal}\n", "cannot check \"mode\""},
		{"expect nothing", header + "  - expect: {queue: 100}\n", "checks nothing"},
		{"bad state", header + "  - call: {from: alice, to: bob, as: c1}\n  - expect: {call: c1, state: talking}\n", "s.yaml:14: state: unknown call state \"talking\""},
		{"bad mode", header + "  - expect: {user: alice, mode: sleepy}\n", "unknown mode"},
		{"pickup to a user", header + "  - pickup: {from: alice, to: bob}\n", "pickup needs a group call pickup number"},
		{"enable pickup outside range", header + "  - enable-pickup: {user: alice, number: 500}\n", "not in any GroupPickup orbit range"},
		{"unknown home pool", strings.Replace(header, "home: pool01}", "home: pool07}", 1) + "  - outage: pool01\n", "s.yaml:7: unknown pool \"pool07\""},
		{"missing topology file", "topologyFile: nowhere.yaml\nsteps:\n  - outage: pool01\n", "s.yaml:1: topologyFile"},
		{"unknown park", header + "  - retrieve: {from: alice, orbit: o9}\n", "s.yaml:13: unknown park \"o9\""},
		{"dial unknown park", header + "  - dial: {from: alice, to: o9}\n", "s.yaml:13: dial to \"o9\": neither a user, a number, nor a park"},
		{"park unknown call", header + "  - park: {from: alice, call: c9, as: o1}\n", "s.yaml:13: unknown call \"c9\""},
		{"park name reused", header + "  - call: {from: alice, to: bob, as: c1}\n  - park: {from: alice, call: c1, as: c1}\n", "s.yaml:14: call name \"c1\" is already used"},
		{"name is a user", header + "  - call: {from: alice, to: bob, as: bob}\n", "is a user's name"},
		{"transfer to nobody", header + "  - call: {from: alice, to: bob, as: c1}\n  - transfer: {from: alice, call: c1, to: zoe}\n", "s.yaml:14: transfer to \"zoe\""},
		{"answer call and user", header + "  - call: {from: alice, to: bob, as: c1}\n  - answer: {call: c1, user: bob}\n", "s.yaml:14: answer step: give either"},
		{"add-pool short name", header + "  - add-pool: pool03\n", "s.yaml:13: add-pool: \"pool03\" is not a fully qualified"},
		{"add-pool twice", header + "  - add-pool: pool02.contoso.com\n", "pool pool02.contoso.com already exists"},
		{"pool not added yet", header + "  - move-users: {from: pool01, to: pool03}\n", "s.yaml:13: unknown pool \"pool03\""},
		{"pair-pools one", header + "  - pair-pools: [pool01]\n", "s.yaml:13: pair-pools needs a list of two pools"},
		{"refusal on a number", header + "  - expect: {orbit-number: 7000, code: 480}\n", "a refusal is checked on the name of a park step"},
		{"bad cps check", header + "  - expect: {pool: pool01, cps: fast}\n", "s.yaml:13: cps \"fast\""},
		{"ringing nobody known", header + "  - expect: {user: alice, ringing: zoe}\n", "s.yaml:13: unknown user \"zoe\""},
		{"watch nothing", header + "  - subscribe: {user: alice, watch: zoe}\n", "s.yaml:13: alice watches \"zoe\": neither a user"},
		{"unsubscribe unwatched", header + "  - unsubscribe: {user: alice, watch: bob}\n", "s.yaml:13: alice unsubscribes from \"bob\""},
		{"lamp without key", header + "  - expect: {user: alice, lamp: {watching: bob, state: early}}\n", "s.yaml:13: alice has no busy lamp key for \"bob\""},
		{"bad lamp state", header + "  - subscribe: {user: alice, watch: bob}\n  - expect: {user: alice, lamp: {watching: bob, state: lit}}\n", "s.yaml:14: lamp state \"lit\""},
		{"replaces without lamp", header + "  - directed-pickup: {from: alice, to: bob, by: replaces}\n", "s.yaml:13: alice picks up by Replaces from its lamp of bob: subscribe"},
		{"directed pickup by what", header + "  - directed-pickup: {from: alice, to: bob, by: magic}\n", "s.yaml:13: by \"magic\""},
		{"outsider registers", outsiderHeader + "  - register: [pstn]\n", "s.yaml:15: pstn is outside the enterprise: outsiders do not register"},
		{"outsider named like a user", strings.Replace(outsiderHeader, "name: pstn", "name: alice", 1) + "  - outage: pool01\n", "s.yaml:13: outsider \"alice\": the name is already a user's"},
		{"outsider bad uri", strings.Replace(outsiderHeader, "uri: \"sip:+14255550100@gw.contoso.com\"", "uri: tel:+1425", 1) + "  - outage: pool01\n", "uri \"tel:+1425\" is not sip:user@host"},
		{"outsider unknown pool", strings.Replace(outsiderHeader, "via: pool01", "via: pool07", 1) + "  - outage: pool01\n", "unknown pool \"pool07\" in via"},
		{"outsider is called", outsiderHeader + "  - call: {from: alice, to: pstn}\n", "s.yaml:15: unknown user \"pstn\""},
		{"bad callerHangsUp", header + "  - pickup: {from: alice, to: 100, callerHangsUp: later}\n", "s.yaml:13: callerHangsUp \"later\""},
		{"callerHangsUp on a call", header + "  - call: {from: alice, to: bob, callerHangsUp: before-answer}\n", "unknown key \"callerHangsUp\""},
		{"forward on no answer", strings.Replace(header, "pickup: 100}", "pickup: 100, forwardOnNoAnswer: alice}", 1) + "  - outage: pool01\n",
			"s.yaml:8: user setting forwardOnNoAnswer: call forwarding on no answer is not modelled"},
		{"friends and family", strings.Replace(header, "pickup: 100}", "pickup: 100, friendsAndFamily: [alice]}", 1) + "  - outage: pool01\n", "privacy relationships are not modelled"},
		{"private line not a number", strings.Replace(header, "pickup: 100}", "pickup: 100, privateLine: bob2}", 1) + "  - outage: pool01\n", "private line \"bob2\" is not a phone number"},
		{"disasterMode on outage", header + "  - outage: {pool: pool01, disasterMode: false}\n", "unknown key \"disasterMode\""},
		{"set-cps of nothing", header + "  - set-cps: {pool: pool01}\n", "set-cps changes nothing"},
		{"unknown pool without error", header + "  - set-orbit: {identity: g1, service: pool09}\n", "s.yaml:13: unknown pool \"pool09\""},
		{"no steps", "name: x\n" + strings.TrimPrefix(header, "name: t\n")[:strings.Index(strings.TrimPrefix(header, "name: t\n"), "steps:")], "steps must be a non-empty list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.body)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrMalformed))
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestErrorsAreAllReported(t *testing.T) {
	_, err := parse(t, header+"  - ring: alice\n  - outage: pool09\n")
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.Len(t, list, 2)
	assert.Equal(t, 14, list[1].Line)
}

func TestCollectSkipsTopologies(t *testing.T) {
	files, err := Collect("..")
	require.NoError(t, err)
	for _, f := range files {
		assert.NotContains(t, f, "topologies")
		assert.NotContains(t, f, "testdata")
	}
	assert.NotEmpty(t, files)
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"90s": "1m30s", "00:05:00": "5m0s", "01:00:01": "1h0m1s", "0": "0s"} {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d.String())
	}
	for _, in := range []string{"", "5", "-1s", "1:2", "00:00:60", "x"} {
		_, err := ParseDuration(in)
		assert.Error(t, err, in)
	}
}

// The cmdlet steps read pool and user names as the admin API and the Go API do (one
// cmdlet vocabulary, issue 12): a pool in any case or as a service identity, a user as a
// SIP URI.
func TestCmdletStepsReadNamesAsTheCmdletsDo(t *testing.T) {
	sc, err := parse(t, header+"  - outage: POOL01.CONTOSO.COM\n  - recover: \"service:ApplicationServer:pool01.contoso.com\"\n"+
		"  - disable-pickup: \"sip:bob@contoso.com\"\n  - enable-pickup: {user: bob@contoso.com, number: \"100;phone-context=user-default\"}\n")
	require.NoError(t, err)
	assert.Equal(t, "pool01.contoso.com", sc.Steps[0].Pool)
	assert.Equal(t, "pool01.contoso.com", sc.Steps[1].Pool)
	assert.Equal(t, "bob", sc.Steps[2].User)
	assert.Equal(t, "bob", sc.Steps[3].User)
}

// An empty set-orbit is refused by the orbit table, in the file's words.
func TestSetOrbitOfNothing(t *testing.T) {
	_, err := parse(t, header+"  - set-orbit: {identity: g1}\n")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "s.yaml:13: set-orbit g1 changes nothing: give start, end, service or type")
}
