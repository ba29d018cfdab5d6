package topology

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/netip"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pickupsim/pickupsim/park"
)

// namedRejection is one row of the rejection table: a named refusal of the core, built
// with sample arguments, and what a caller reads on the wire.
type namedRejection struct {
	ctor   any // the constructor, for its name
	r      *Rejection
	code   int
	reason string
	diag   int // ms-diagnostics code, 0 where Lync has none ([MS-OCER] 7.25)
}

// rejectionTable names every refusal a pool sends. The pools build no Rejection of their
// own (package sip has no Rejection literal): each refusal is one of these.
func rejectionTable() []namedRejection {
	err := errors.New("boom")
	orbits := park.OrbitRange{Identity: "park-pool01", NumberRangeStart: "7000", NumberRangeEnd: "7099", CallParkService: pool01}
	return []namedRejection{
		// The network: malformed input, relaying, the pool's own failures (refusals_network.go).
		{MalformedRequest, MalformedRequest("no From header"), 400, "Bad Request", 0},
		{TooManyHops, TooManyHops(), 483, "Too Many Hops", 0},
		{HandlerFailed, HandlerFailed(pool01), 500, "Server Internal Error", DiagGeneralError},
		{NotRelayed, NotRelayed(pool01), 403, "Forbidden", 0},
		{NoSuchDialog, NoSuchDialog(pool01), 481, "Call/Transaction Does Not Exist", 0},
		{NextHopUnreachable, NextHopUnreachable("bob"), 503, "Service Unavailable", 0},
		{NoAnswerFrom, NoAnswerFrom("bob"), 408, "Request Timeout", 0},
		{MustAuthenticate, MustAuthenticate(401, "bob", "no credentials"), 401, "Unauthorized", 0},
		{MalformedBody, MalformedBody(err), 400, "Bad Request", 0},
		{UnsupportedBody, UnsupportedBody("text/plain", "application/dialog-info+xml"), 415, "Unsupported Media Type", 0},
		{NotFromAPeerPool, NotFromAPeerPool("PUBLISH"), 403, "Forbidden", 0},
		{BadEvent, BadEvent("presence"), 489, "Bad Event", 0},

		// Registration and routing (refusals_routing.go).
		{NotAUser, NotAUser("zed", "contoso.com"), 404, "Not Found", 0},
		{ServedElsewhere, ServedElsewhere("bob", pool02, ""), 301, "Moved Permanently", 0},
		{NoRegistrar, NoRegistrar("pool01 is out", time.Minute), 503, "Service Unavailable", 0},
		{StaleRegister, StaleRegister(1, 2), 400, "Bad Request", 0},
		{UnknownNumber, UnknownNumber("zed", "contoso.com"), 404, "Not Found", 0},
		{UserSignedOut, UserSignedOut("bob", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{NotRegisteredHere, NotRegisteredHere("bob", pool01), 480, "Temporarily Unavailable", 0},
		{PoolNotAnswering, PoolNotAnswering(pool02), 503, "Service Unavailable", 0},
		{RingingTimedOut, RingingTimedOut("bob", 3*time.Minute), 408, "Request Timeout", 0},
		{OrbitFromOutside, OrbitFromOutside(park.CallPark, "7000"), 403, "Forbidden", DiagOutsideEnterprise},
		{OrbitInResiliency, OrbitInResiliency(park.GroupPickup, "bob", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{NotAGroupMember, NotAGroupMember("alice", "100"), 403, "Forbidden", 0},
		{OrbitRangeOnNoPool, OrbitRangeOnNoPool(orbits), 503, "Service Unavailable", DiagCannotForward},
		{OrbitRangeOwnerDown, OrbitRangeOwnerDown(orbits), 503, "Service Unavailable", DiagCannotForward},
		{OrbitRangeOwnerCPSDisabled, OrbitRangeOwnerCPSDisabled(orbits), 503, "Service Unavailable", DiagCannotForward},
		{OrbitRangeOwnerFailedOver, OrbitRangeOwnerFailedOver(orbits, FailedOver, pool02), 503, "Service Unavailable", DiagCannotForward},
		{GroupPickupRangeNotRedirectedBack, GroupPickupRangeNotRedirectedBack(orbits, pool01), 503, "Service Unavailable", DiagCannotForward},

		// Desk phones' subscriptions and attended transfers (deskphone.go).
		{SubscriberNotAUser, SubscriberNotAUser("contoso.com"), 403, "Forbidden", 0},
		{NotOwnMailbox, NotOwnMailbox("bob", "alice"), 403, "Forbidden", 0},
		{BadSubscriptionEvent, BadSubscriptionEvent("dialog", []string{EventPresence}), 489, "Bad Event", 0},
		{NotAcceptable, NotAcceptable(EventPresence, "application/pidf+xml"), 406, "Not Acceptable", 0},
		{ReplacesRefused, ReplacesRefused(), 403, "Forbidden", 0},

		// Busy lamps and directed pickup (watch.go, directed.go).
		{NotWatchable, NotWatchable("zed", "contoso.com"), 404, "Not Found", 0},
		{SubscriptionGone, SubscriptionGone(pool01), 481, "Call/Transaction Does Not Exist", 0},
		{DirectedPickupFromOutside, DirectedPickupFromOutside("bob"), 403, "Forbidden", DiagOutsideEnterprise},
		{DirectedPickupInResiliency, DirectedPickupInResiliency("carol", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{DirectedCalleeInResiliency, DirectedCalleeInResiliency("bob", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{DirectedPrivateLine, DirectedPrivateLine("bob"), 404, "Not Found", DiagOrbitNotFound},
		{DirectedPickupUnavailable, DirectedPickupUnavailable(pool01, "bob"), 503, "Service Unavailable", DiagCannotForward},
		{NothingRingingFor, NothingRingingFor("bob"), 404, "Not Found", DiagOrbitNotFound},
		{DirectedCallGone, DirectedCallGone("bob"), 404, "Not Found", DiagOrbitNotFound},
		{ReplacesConfirmedEarlyOnly, ReplacesConfirmedEarlyOnly("abc"), 486, "Busy Here", 0},
		{ReplacesDialogEnded, ReplacesDialogEnded("abc"), 603, "Declined", 0},

		// Group Call Pickup (rejection.go, pickupqueue.go).
		{NothingToPickUp, NothingToPickUp("100"), 404, "Not Found", DiagOrbitNotFound},
		{CalleeInResiliency, CalleeInResiliency("100", "bob", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{PrivateLineNotPickable, PrivateLineNotPickable("100", "bob"), 404, "Not Found", DiagOrbitNotFound},
		{PickedCallGone, PickedCallGone("100"), 404, "Not Found", DiagOrbitNotFound},
		{MediaMismatch, MediaMismatch(err), 488, "Not Acceptable Here", 0},
		{NotHoldingQueue, NotHoldingQueue(pool02, "100"), 404, "Not Found", DiagOrbitNotFound},
		{NoRingingCall, NoRingingCall("abc"), 481, "Call/Transaction Does Not Exist", 0},

		// Call Park (refusals_park.go).
		{ParkerOutsideEnterprise, ParkerOutsideEnterprise(park.Party{Addr: "192.0.2.1:5060"}), 403, "Forbidden", DiagNoConversation},
		{ParkerNotAUser, ParkerNotAUser("zed"), 403, "Forbidden", DiagNoConversation},
		{ParkerSignedOut, ParkerSignedOut("bob", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{ParkerInResiliency, ParkerInResiliency("bob", "pool01 is out"), 480, "Temporarily Unavailable", 0},
		{ParkOnOwnPool, ParkOnOwnPool("dave", pool02, pool01), 403, "Forbidden", 0},
		{ParkerPoolNotAnswering, ParkerPoolNotAnswering(pool02, "dave"), 503, "Service Unavailable", DiagCannotForward},
		{CallParkDisabled, CallParkDisabled(pool01), 503, "Service Unavailable", DiagCannotForward},
		{NoConversationToPark, NoConversationToPark(err), 403, "Forbidden", DiagNoConversation},
		{ConversationParkedAlready, ConversationParkedAlready("abc"), 403, "Forbidden", DiagNoConversation},
		{NoFreeOrbit, NoFreeOrbit(park.ErrNoFreeOrbit), 480, "Temporarily Unavailable", DiagNoFreeOrbit},
		{DoublePark, DoublePark(park.ErrDoublePark), 486, "Busy Here", DiagDoublePark},
		{OrbitEmpty, OrbitEmpty(park.ErrOrbitEmpty), 404, "Not Found", DiagOrbitNotFound},
		{ParkFailed, ParkFailed(err), 500, "Server Internal Error", DiagGeneralError},
		{BadParkOffer, BadParkOffer(err), 488, "Not Acceptable Here", 0},
		{MusicOnHoldElsewhere, MusicOnHoldElsewhere(netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.1")),
			488, "Not Acceptable Here", 0},
		{ParkThrottled, ParkThrottled("192.0.2.1:5060", 5, 2*time.Second), 503, "Service Unavailable", 0},
		{ParkeeNotReconnected, ParkeeNotReconnected("7000"), 480, "Temporarily Unavailable", DiagGeneralError},
		{RetrieveMediaMismatch, RetrieveMediaMismatch(err), 488, "Not Acceptable Here", 0},
	}
}

// funcName is the name of a constructor of this package.
func funcName(f any) string {
	full := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return full[strings.LastIndexByte(full, '.')+1:]
}

// TestEveryNamedRejection maps each named rejection to its status, reason and
// ms-diagnostics code, and checks that it says why in its Warning (SPEC section 6).
func TestEveryNamedRejection(t *testing.T) {
	for _, row := range rejectionTable() {
		t.Run(funcName(row.ctor), func(t *testing.T) {
			require.NotNil(t, row.r)
			assert.Equal(t, row.code, row.r.Code, "status")
			assert.Equal(t, row.reason, row.r.Reason, "reason phrase")
			assert.Equal(t, row.diag, row.r.Diagnostic, "ms-diagnostics")
			assert.NotEmpty(t, row.r.Warning, "a refusal says why")
			if row.diag != 0 {
				assert.NotEmpty(t, DiagnosticText[row.diag], "Lync's text for %d", row.diag)
			}
		})
	}
}

// TestTheRejectionTableNamesEveryRejection keeps the table whole: every function of the
// package that builds a Rejection is a row, so a new refusal cannot be added without its
// code, reason and ms-diagnostics being stated here. Decisions (Route, AdmitPark,
// ParkLotRefusal...) only choose among the named ones.
func TestTheRejectionTableNamesEveryRejection(t *testing.T) {
	named := map[string]bool{}
	for _, row := range rejectionTable() {
		named[funcName(row.ctor)] = true
	}
	fset := token.NewFileSet()
	sources, err := filepath.Glob("*.go")
	require.NoError(t, err)
	builders := map[string]token.Position{}
	for _, src := range sources {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, src, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Name.Name == "reject" {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "reject" {
						builders[fd.Name.Name] = fset.Position(x.Pos())
					}
				case *ast.CompositeLit:
					if id, ok := x.Type.(*ast.Ident); ok && id.Name == "Rejection" {
						builders[fd.Name.Name] = fset.Position(x.Pos())
					}
				}
				return true
			})
			if fd.Recv != nil {
				if pos, ok := builders[fd.Name.Name]; ok {
					t.Errorf("%s: method %s builds a rejection: name it (a function of the table) and call that", pos, fd.Name.Name)
				}
			}
		}
	}
	require.NotEmpty(t, builders)
	for name, pos := range builders {
		assert.True(t, named[name], "%s: %s builds a rejection the table does not name", pos, name)
	}
	for name := range named {
		_, ok := builders[name]
		assert.True(t, ok, "the table names %s, which builds no rejection", name)
	}
}
