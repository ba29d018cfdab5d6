package dialoginfo

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/sip/dialoginfo/xsdcheck"
)

func ringing() Info {
	return Info{Version: 3, Entity: "sip:bob@contoso.com", Dialogs: []Dialog{{
		ID: "d1", CallID: "abc@127.0.0.1", LocalTag: "callee-tag", RemoteTag: "caller-tag", Direction: "recipient",
		State: Early, Local: "sip:bob@contoso.com", Remote: "sip:alice@contoso.com",
		Pickup: &Pickup{Number: "100", Blocked: "resiliency", Why: "bob is in resiliency mode (pool01 is down)"},
	}}}
}

func TestBuildParseRoundTrip(t *testing.T) {
	body := Build(ringing())
	assert.Contains(t, string(body), `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="partial" entity="sip:bob@contoso.com">`)
	assert.Contains(t, string(body), `<state>early</state>`)
	got, err := Parse(body)
	require.NoError(t, err)
	assert.Equal(t, ringing(), got)

	full := Info{Full: true, Entity: "sip:carol@contoso.com"}
	got, err = Parse(Build(full))
	require.NoError(t, err)
	assert.Equal(t, full, got, "no dialogs: the entity is idle")
}

// RFC 4235 section 4 example, as another implementation writes it (prefix-free, with
// elements this package ignores).
func TestParseTheRFCExample(t *testing.T) {
	body := `<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:alice@example.com">
  <dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" direction="initiator">
    <state event="replaced">terminated</state>
    <duration>274</duration>
    <local><identity display="Alice">sip:alice@example.com</identity><target uri="sip:alice@pc33.example.com"/></local>
  </dialog>
</dialog-info>`
	got, err := Parse([]byte(body))
	require.NoError(t, err)
	require.Len(t, got.Dialogs, 1)
	d := got.Dialogs[0]
	assert.Equal(t, Terminated, d.State)
	assert.Equal(t, "a84b4c76e66710", d.CallID)
	assert.Equal(t, "sip:alice@example.com", d.Local)
	assert.Nil(t, d.Pickup)
	assert.True(t, got.Full)
}

func TestParseRefusesWhatRFC4235Forbids(t *testing.T) {
	tests := []struct{ name, body, why string }{
		{"not XML", "hello", "invalid dialog-info"},
		{"wrong namespace", `<dialog-info xmlns="urn:x" version="0" state="full" entity="sip:a@b"/>`, "expected element"},
		{"bad state", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="some" entity="sip:a@b"/>`, `state "some"`},
		{"no entity", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full"/>`, "no entity"},
		{"dialog without id", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog><state>early</state></dialog></dialog-info>`, "has no id"},
		{"unknown dialog state", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog id="x"><state>ringing</state></dialog></dialog-info>`, `unknown state "ringing"`},
		{"bad direction", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog id="x" direction="up"><state>early</state></dialog></dialog-info>`, `direction "up"`},
		{"too large", strings.Repeat(" ", MaxSize+1), "more than"},
		{"too many dialogs", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b">` +
			strings.Repeat(`<dialog id="x"><state>early</state></dialog>`, MaxDialogs+1) + `</dialog-info>`, "dialogs, more than"},
		{"negative version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="-1" state="full" entity="sip:a@b"/>`, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.why)
		})
	}
}

// FuzzParse: no input panics or hangs the parser, and whatever it accepts renders to a
// document it accepts again, unchanged.
func FuzzParse(f *testing.F) {
	f.Add(Build(ringing()))
	f.Add(Build(Info{Full: true, Entity: "sip:x@y"}))
	f.Add([]byte(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog id="x"><state>early</state></dialog></dialog-info>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := Parse(body)
		if err != nil {
			return
		}
		again, err := Parse(Build(info))
		if err != nil {
			t.Fatalf("a parsed document does not parse once rebuilt: %v", err)
		}
		if len(again.Dialogs) != len(info.Dialogs) || again.Entity != info.Entity {
			t.Fatalf("round trip changed the document: %+v -> %+v", info, again)
		}
	})
}

// Every shape of document pools send validates against RFC 4235's own schema (section
// 4.4): an early dialog with the pickup extension, a confirmed one, one terminated with its
// event, an idle entity, and an entity whose state is unknown. A document the schema
// forbids is caught, so the check can fail.
func TestDocumentsValidateAgainstTheRFCSchema(t *testing.T) {
	confirmed := ringing()
	confirmed.Full = true
	confirmed.Dialogs[0].State, confirmed.Dialogs[0].Pickup = Confirmed, nil
	ended := ringing()
	ended.Dialogs[0].State, ended.Dialogs[0].Event = Terminated, "cancelled"
	unknown := Info{Full: true, Version: 9, Entity: "sip:7000@contoso.com", Unknown: "pool01.contoso.com is down", Dialogs: []Dialog{{
		ID: "x", CallID: "y", State: Terminated, Event: "error"}}}
	xsdcheck.Require(t, Build(ringing()), Build(confirmed), Build(ended), Build(Info{Full: true, Entity: "sip:bob@contoso.com"}), Build(unknown))

	bad := strings.Replace(string(Build(ended)), `event="cancelled"`, `event="hung-up"`, 1)
	err := xsdcheck.Validate([]byte(bad))
	if errors.Is(err, xsdcheck.ErrNoXmllint) {
		return // Require skipped or failed above already
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hung-up")
}

// A lamp shows ringing before anything else, then a call being set up, then an answered
// call; terminated when nothing is live; unknown when the notifier does not know.
func TestLamp(t *testing.T) {
	ring := Dialog{ID: "r", State: Early, Remote: "sip:alice@contoso.com"}
	talk := Dialog{ID: "t", State: Confirmed, Remote: "sip:carol@contoso.com"}
	gone := Dialog{ID: "g", State: Terminated}
	for _, c := range []struct {
		info  Info
		state string
		d     Dialog
	}{
		{Info{Dialogs: []Dialog{talk, ring, gone}}, Early, ring},
		{Info{Dialogs: []Dialog{gone, talk}}, Confirmed, talk},
		{Info{Dialogs: []Dialog{gone}}, Terminated, Dialog{}},
		{Info{}, Terminated, Dialog{}},
		{Info{Dialogs: []Dialog{ring}, Unknown: "pool01 is down"}, Unknown, Dialog{}},
	} {
		state, d := Lamp(c.info)
		assert.Equal(t, c.state, state)
		assert.Equal(t, c.d, d)
	}
}
