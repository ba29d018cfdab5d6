package sip

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Desk phones subscribe as soon as they register: to their mailbox (message-summary,
// RFC 3842) for the message-waiting lamp, to colleagues' presence (RFC 3856) for their
// lamps. A pool that answers 405 gets the same SUBSCRIBE again and again from every phone.
// So pools are notifiers for the packages below, answer any other package with 489 Bad
// Event and the list of theirs (RFC 6665 7.2.2), and most phones then stop asking.

// notifier is how a pool notifies one event package.
type notifier struct {
	contentType string
	// state renders the notification body for target, the user the subscription is about.
	state func(rt *runtime, target string) []byte
}

// eventPackages are the packages pools serve statelessly, by Event header name. The dialog
// package (RFC 4235, busy lamp fields) keeps its subscriptions: blf_notify.go.
var eventPackages = map[string]notifier{
	topology.EventMessageSummary: {contentType: "application/simple-message-summary", state: messageSummary},
	topology.EventPresence:       {contentType: "application/pidf+xml", state: presenceDocument},
}

// maxSubscriptionExpires bounds the Expires a pool grants (and is the default).
const maxSubscriptionExpires = 3600

// servedEvents lists eventPackages' names, sorted, for Allow-Events.
func servedEvents() []string {
	out := []string{topology.EventDialog}
	for name := range eventPackages {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// onSubscribe answers a SUBSCRIBE, initial or refresh, and sends the NOTIFY that carries
// the current state. Subscriptions are not kept: nothing the simulator models changes a
// mailbox, and a phone refreshes its subscription (receiving the state again) before it
// expires; a pool that fails forgets them as it forgets registrations.
func (rt *runtime) onSubscribe(req *gosip.Request, tx gosip.ServerTransaction) {
	pkg := strings.ToLower(eventPackage(req)) // pickup_report.go
	if pkg == topology.EventDialog {
		rt.onDialogSubscribe(req, tx) // busy lamps (blf_notify.go)
		return
	}
	ep, ok := eventPackages[pkg]
	if !ok {
		res := lync.Response(req, topology.BadSubscriptionEvent(pkg, servedEvents()), rt.pool.fqdn)
		res.AppendHeader(gosip.NewHeader("Allow-Events", strings.Join(servedEvents(), ", ")))
		rt.log("SUBSCRIBE refused", req, "event", pkg, "code", res.StatusCode)
		tx.Respond(res)
		return
	}
	caller, ok := rt.identify(req, tx)
	if !ok {
		return // challenged
	}
	target := subscriptionTarget(req)
	if r := rt.pool.dep.maySubscribe(caller, target, pkg); r != nil {
		rt.respond(tx, req, r)
		return
	}
	if a := req.GetHeader("Accept"); a != nil && !accepts(a.Value(), ep.contentType) {
		rt.respond(tx, req, topology.NotAcceptable(pkg, ep.contentType))
		return
	}
	expires := subscriptionExpires(req)
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if to := res.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); !tagged {
			to.Params.Add("tag", rt.pool.ids.ToTag(req))
		}
	}
	res.AppendHeader(&gosip.ContactHeader{Address: rt.contactURI()})
	res.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	rt.log("SUBSCRIBE accepted", req, "event", pkg, "subscriber", caller.User, "target", target, "expires", expires)
	rt.pool.ownSends.Hold() // the NOTIFY is owed once the 200 leaves (Pool.OwnSends)
	if err := tx.Respond(res); err != nil {
		rt.pool.ownSends.Release()
		return
	}
	go func() {
		defer rt.pool.ownSends.Release()
		rt.notify(req, res, ep, target, expires)
	}()
}

// notify sends the NOTIFY of a subscription just accepted (RFC 6665 4.2.1.2), in the
// dialog the 200 OK created, to the subscriber's Contact.
func (rt *runtime) notify(sub *gosip.Request, answer *gosip.Response, ep notifier, target string, expires int) {
	contact := sub.Contact()
	if contact == nil {
		return
	}
	n := gosip.NewRequest(gosip.NOTIFY, *contact.Address.Clone())
	from := answer.To() // the notifier's side: the subscription's To, with the pool's tag
	n.AppendHeader(&gosip.FromHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()})
	to := sub.From()
	n.AppendHeader(&gosip.ToHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()})
	n.AppendHeader(gosip.HeaderClone(sub.CallID()))
	n.AppendHeader(&gosip.CSeqHeader{SeqNo: rt.nextNotifyCSeq(), MethodName: gosip.NOTIFY})
	mf := gosip.MaxForwardsHeader(70)
	n.AppendHeader(&mf)
	n.AppendHeader(&gosip.ContactHeader{Address: rt.contactURI()})
	n.AppendHeader(gosip.NewHeader("Event", sub.GetHeader("Event").Value()))
	state := fmt.Sprintf("active;expires=%d", expires)
	if expires == 0 {
		state = "terminated;reason=timeout" // an unsubscription gets the state one last time
	}
	n.AppendHeader(gosip.NewHeader("Subscription-State", state))
	n.AppendHeader(gosip.NewHeader("Content-Type", ep.contentType))
	n.SetBody(ep.state(rt, target))
	rt.sendToPhone(n, sub, contact.Address)
	ctx, cancel := context.WithTimeout(rt.ctx, 32*time.Second)
	defer cancel()
	clTx, err := rt.cli.TransactionRequest(ctx, n, sipgo.ClientRequestAddVia)
	if err != nil {
		rt.pool.log.Debug("NOTIFY not sent", "call_id", siputil.CallID(sub), "err", err)
		return
	}
	defer clTx.Terminate()
	for {
		select {
		case res := <-clTx.Responses():
			if res.StatusCode >= 200 {
				if res.StatusCode >= 300 {
					rt.pool.log.Info("NOTIFY refused by the subscriber", "call_id", siputil.CallID(sub), "code", res.StatusCode)
				}
				return
			}
		case <-clTx.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// sendToPhone addresses a request the pool originates to a phone that sent it req: to
// the phone's URI over UDP, from the pool's own port; back over the phone's connection on
// TCP and TLS.
func (rt *runtime) sendToPhone(out, req *gosip.Request, uri gosip.Uri) {
	tr := strings.ToLower(req.Transport())
	out.SetTransport(strings.ToUpper(tr))
	if tr == "udp" {
		out.SetDestination(uri.HostPort())
		out.Laddr = rt.laddr
		return
	}
	out.SetDestination(req.Source())
}

// contactURI is the pool's own address, for Contact headers of what it answers itself.
func (rt *runtime) contactURI() gosip.Uri {
	host, port, _ := net.SplitHostPort(rt.pool.Addr())
	p, _ := strconv.Atoi(port)
	return gosip.Uri{Scheme: "sip", Host: host, Port: p}
}

var notifyCSeq atomic.Uint32

// nextNotifyCSeq numbers the NOTIFYs pools send: increasing within every dialog, as RFC
// 3261 12.2.1.1 requires, because increasing across all of them.
func (rt *runtime) nextNotifyCSeq() uint32 { return notifyCSeq.Add(1) }

// subscriptionTarget is the user a SUBSCRIBE is about: the Request-URI's of an initial
// one; the To header's of a refresh or unsubscribe, whose Request-URI is the remote
// target the pool gave (its own address, with no user).
func subscriptionTarget(req *gosip.Request) string {
	if to := req.To(); to != nil {
		if _, tagged := to.Params.Get("tag"); tagged {
			return to.Address.User
		}
	}
	return req.Recipient.User
}

// subscriptionExpires is the duration granted: what the phone asked for, at most
// maxSubscriptionExpires; 0 ends the subscription.
func subscriptionExpires(req *gosip.Request) int {
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return min(n, maxSubscriptionExpires)
		}
	}
	return maxSubscriptionExpires
}

// accepts reports whether an Accept header value admits contentType.
func accepts(accept, contentType string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	major, _, _ := strings.Cut(contentType, "/")
	for _, a := range strings.Split(accept, ",") {
		a, _, _ = strings.Cut(strings.TrimSpace(strings.ToLower(a)), ";")
		if a == contentType || a == "*/*" || a == major+"/*" {
			return true
		}
	}
	return false
}

// messageSummary is an empty mailbox (RFC 3842 5.2): no voice mail in the simulator.
func messageSummary(rt *runtime, target string) []byte {
	return fmt.Appendf(nil, "Messages-Waiting: no\r\nMessage-Account: sip:%s@%s\r\n", target, rt.pool.dep.Domain())
}

// presenceDocument is target's presence (RFC 3863 PIDF): open while any pool holds a
// registration of the user, closed otherwise.
func presenceDocument(rt *runtime, target string) []byte {
	basic, note := "closed", "not registered"
	if pool, mode, ok := rt.pool.dep.registeredOn(target); ok {
		basic, note = "open", fmt.Sprintf("registered on %s (%s mode)", pool, mode)
	}
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:%s@%s">
  <tuple id="pickupsim">
    <status><basic>%s</basic></status>
    <note>%s</note>
  </tuple>
</presence>
`, target, rt.pool.dep.Domain(), basic, note)
}

// allowedMethods are the methods pools handle, for Allow headers.
const allowedMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, MESSAGE"

// onOptions answers an OPTIONS to the pool (a phone's keep-alive, or a capabilities
// query) with what the pool supports (RFC 3261 11.2).
func (rt *runtime) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("Allow", allowedMethods))
	res.AppendHeader(gosip.NewHeader("Allow-Events", strings.Join(servedEvents(), ", ")))
	res.AppendHeader(gosip.NewHeader("Accept", "application/sdp"))
	tx.Respond(res)
}
