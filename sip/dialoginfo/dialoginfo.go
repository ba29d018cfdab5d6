// Package dialoginfo builds and parses RFC 4235 dialog state documents
// (application/dialog-info+xml), the body of the SIP "dialog" event package.
//
// Pools use it to tell the pool that holds a Group Call Pickup queue about a call ringing
// one of the group's members (PUBLISH, Event: dialog): the document names the rung user
// (entity), the ringing dialog (Call-ID and tags, state "early" then "terminated") and its
// caller, plus a pickupsim extension element with the group number and, for a call that
// cannot be picked up, why. Busy lamp fields read the same documents.
package dialoginfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// ContentType is the MIME type of a dialog state document (RFC 4235 section 4.1).
const ContentType = "application/dialog-info+xml"

// Event is the event package name (RFC 4235 section 3.1).
const Event = "dialog"

// Namespace is RFC 4235's XML namespace; ExtensionNamespace is the simulator's own, for the
// pickup element (RFC 4235 section 4.1.6 allows elements from other namespaces).
const (
	Namespace          = "urn:ietf:params:xml:ns:dialog-info"
	ExtensionNamespace = "urn:pickupsim:params:xml:ns:pickup"
)

// MaxSize bounds a document Parse accepts; MaxDialogs the dialogs in it. A pool reads these
// from peers only, but a parser never trusts its input's size.
const (
	MaxSize    = 64 << 10
	MaxDialogs = 64
)

// The dialog states of RFC 4235 section 3.7.1.
const (
	Trying     = "trying"
	Proceeding = "proceeding"
	Early      = "early"
	Confirmed  = "confirmed"
	Terminated = "terminated"
)

// Info is one dialog-info document.
type Info struct {
	// Version counts the documents sent about Entity, from 0 (RFC 4235 section 4.1.1).
	Version uint32
	// Full is true for state="full" (every dialog of the entity), false for "partial".
	Full bool
	// Entity is the address of record the dialogs belong to (the rung user).
	Entity  string
	Dialogs []Dialog
	// Unknown, when set, says why the notifier does not know the entity's dialogs now (the
	// pool that held them is down, the range is not redirected): a pickupsim extension
	// element at the document's end (RFC 4235 section 4.1 allows elements of other
	// namespaces there). The document then lists no live dialog.
	Unknown string
}

// Dialog is one dialog of the entity.
type Dialog struct {
	ID        string
	CallID    string
	LocalTag  string // the entity's tag (the callee's To tag)
	RemoteTag string // the other party's tag (the caller's From tag)
	// Direction is "initiator" or "recipient" (the entity was called), or empty.
	Direction string
	State     string
	// Event says why a terminated dialog ended (RFC 4235 section 4.1.6.2: cancelled,
	// rejected, replaced, local-bye, remote-bye, error, timeout); empty otherwise.
	Event string
	// Local and Remote are the parties' identities (addresses).
	Local, Remote string
	// Pickup, when set, is the simulator's extension: the call rings a member of a Group
	// Call Pickup group.
	Pickup *Pickup
}

// Pickup is the extension element: the group number the call is queued under, and, when the
// call cannot be picked up, the kind of block and the administrator's explanation.
type Pickup struct {
	Number  string
	Blocked string
	Why     string
}

// The XML shapes.
type xmlInfo struct {
	XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
	Version uint32      `xml:"version,attr"`
	State   string      `xml:"state,attr"`
	Entity  string      `xml:"entity,attr"`
	Dialogs []xmlDialog `xml:"dialog"`
	Unknown *xmlUnknown `xml:"urn:pickupsim:params:xml:ns:pickup unknown,omitempty"`
}

type xmlUnknown struct {
	Why string `xml:",chardata"`
}

type xmlState struct {
	Event string `xml:"event,attr,omitempty"`
	Value string `xml:",chardata"`
}

type xmlDialog struct {
	ID        string     `xml:"id,attr"`
	CallID    string     `xml:"call-id,attr,omitempty"`
	LocalTag  string     `xml:"local-tag,attr,omitempty"`
	RemoteTag string     `xml:"remote-tag,attr,omitempty"`
	Direction string     `xml:"direction,attr,omitempty"`
	State     xmlState   `xml:"state"`
	Local     *xmlParty  `xml:"local,omitempty"`
	Remote    *xmlParty  `xml:"remote,omitempty"`
	Pickup    *xmlPickup `xml:"urn:pickupsim:params:xml:ns:pickup pickup,omitempty"`
}

type xmlParty struct {
	Identity string `xml:"identity"`
}

type xmlPickup struct {
	Number  string `xml:"number,attr"`
	Blocked string `xml:"blocked,attr,omitempty"`
	Why     string `xml:",chardata"`
}

// Build renders info as a document.
func Build(info Info) []byte {
	x := xmlInfo{Version: info.Version, State: "partial", Entity: info.Entity}
	if info.Full {
		x.State = "full"
	}
	for _, d := range info.Dialogs {
		xd := xmlDialog{ID: d.ID, CallID: d.CallID, LocalTag: d.LocalTag, RemoteTag: d.RemoteTag, Direction: d.Direction,
			State: xmlState{Event: d.Event, Value: d.State}}
		if d.Local != "" {
			xd.Local = &xmlParty{Identity: d.Local}
		}
		if d.Remote != "" {
			xd.Remote = &xmlParty{Identity: d.Remote}
		}
		if p := d.Pickup; p != nil {
			xd.Pickup = &xmlPickup{Number: p.Number, Blocked: p.Blocked, Why: p.Why}
		}
		x.Dialogs = append(x.Dialogs, xd)
	}
	if info.Unknown != "" {
		x.Unknown = &xmlUnknown{Why: info.Unknown}
	}
	out, err := xml.Marshal(x)
	if err != nil { // only strings and integers: cannot fail
		panic(err)
	}
	return append([]byte(xml.Header), out...)
}

// ErrInvalid wraps every reason a document is refused.
var ErrInvalid = errors.New("invalid dialog-info document")

var states = map[string]bool{Trying: true, Proceeding: true, Early: true, Confirmed: true, Terminated: true}

// Parse reads a document and checks what RFC 4235 requires of it: the namespace, a state of
// full or partial, an entity, and for each dialog an id and a known state.
func Parse(body []byte) (Info, error) {
	if len(body) > MaxSize {
		return Info{}, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalid, len(body), MaxSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var x xmlInfo
	if err := dec.Decode(&x); err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	info := Info{Version: x.Version, Entity: strings.TrimSpace(x.Entity)}
	if x.Unknown != nil {
		info.Unknown = strings.TrimSpace(x.Unknown.Why)
	}
	switch x.State {
	case "full":
		info.Full = true
	case "partial":
	default:
		return Info{}, fmt.Errorf("%w: state %q is neither full nor partial", ErrInvalid, x.State)
	}
	if info.Entity == "" {
		return Info{}, fmt.Errorf("%w: no entity", ErrInvalid)
	}
	if len(x.Dialogs) > MaxDialogs {
		return Info{}, fmt.Errorf("%w: %d dialogs, more than %d", ErrInvalid, len(x.Dialogs), MaxDialogs)
	}
	for i, xd := range x.Dialogs {
		d := Dialog{ID: xd.ID, CallID: xd.CallID, LocalTag: xd.LocalTag, RemoteTag: xd.RemoteTag,
			Direction: xd.Direction, State: strings.TrimSpace(xd.State.Value), Event: xd.State.Event}
		switch {
		case d.ID == "":
			return Info{}, fmt.Errorf("%w: dialog %d has no id", ErrInvalid, i+1)
		case !states[d.State]:
			return Info{}, fmt.Errorf("%w: dialog %s: unknown state %q", ErrInvalid, d.ID, d.State)
		case d.Direction != "" && d.Direction != "initiator" && d.Direction != "recipient":
			return Info{}, fmt.Errorf("%w: dialog %s: direction %q is neither initiator nor recipient", ErrInvalid, d.ID, d.Direction)
		}
		if xd.Local != nil {
			d.Local = strings.TrimSpace(xd.Local.Identity)
		}
		if xd.Remote != nil {
			d.Remote = strings.TrimSpace(xd.Remote.Identity)
		}
		if p := xd.Pickup; p != nil {
			d.Pickup = &Pickup{Number: strings.TrimSpace(p.Number), Blocked: p.Blocked, Why: strings.TrimSpace(p.Why)}
		}
		info.Dialogs = append(info.Dialogs, d)
	}
	return info, nil
}

// Unknown is the state a busy lamp shows when nobody tells it the truth: no active
// subscription, or a notifier that does not know the entity's dialogs now (Info.Unknown).
const Unknown = "unknown"

// Lamp is what a busy lamp field key shows for a document: the state of the dialog that
// matters most (a call ringing, then one being set up, then one answered; terminated when
// no dialog is live), and that dialog. Phones light their keys this way: ringing first, so
// a colleague's ringing call can be picked up even while they are on another call.
func Lamp(info Info) (state string, d Dialog) {
	if info.Unknown != "" {
		return Unknown, Dialog{}
	}
	rank := map[string]int{Early: 4, Proceeding: 3, Trying: 2, Confirmed: 1}
	state = Terminated
	for _, x := range info.Dialogs {
		if rank[x.State] > rank[state] {
			state, d = x.State, x
		}
	}
	return state, d
}
