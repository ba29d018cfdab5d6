package phone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
)

// How a phone learns that nobody answers at a SIP address.
//
// RFC 3261's transactions retransmit a lost request (Timers A and E, from T1 = 500 ms)
// and give up only after 64*T1 = 32 s (Timers B and F). A phone must wait that long for
// a server that is merely slow or behind a lossy link, but not for one that is gone: on
// a LAN the network says so at once, with an ICMP port unreachable. Linux reports that
// error only to a connected UDP socket (never to the unconnected one a phone listens
// on), so while a transaction waits for its answer (an INVITE: its first answer) the phone
// sends CRLF keep-alives (RFC 5626 §4.4.1; SIP stacks ignore them) to the same address
// from a socket connected to it. ECONNREFUSED on that socket is the network's answer: the
// transaction ends at once with ErrUnreachable, as a transport error (RFC 3261 §8.1.3.1).
// A live server never refuses, so the probe can only end a transaction early, never
// decide one wrongly; under loss a keep-alive or its ICMP may be dropped, so it is
// repeated. (A TCP connect would find a dead pool too, since pools also listen on TCP,
// but not a dead phone, which listens on UDP only, and a lost SYN costs a second.)

// ErrUnreachable is a request whose destination the network reported unreachable: no
// socket listens there (an ICMP port unreachable on the loopback the simulator runs on).
var ErrUnreachable = errors.New("unreachable: nothing listens there (ICMP port unreachable)")

// probeWaits spaces the keep-alives: fast at first (a dead pool is found in a
// millisecond), then no faster than T1, like the retransmissions they shadow.
var probeWaits = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

// probe reports ErrUnreachable as soon as the network says nothing listens at dest
// ("ip:port", UDP), and nil when ctx ends first. It sends from the phone's IP.
func (ph *Phone) probe(ctx context.Context, dest string) error {
	ap, err := netip.ParseAddrPort(dest) // an ip:port only: a phone never asks the DNS here
	if err != nil {
		return nil // not an address the phone can probe: leave it to the transaction
	}
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(ph.ip)}, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // wakes a blocked Read
	defer func() {
		if stop() {
			conn.Close()
		}
	}()
	buf := make([]byte, 64)
	for i := 0; ctx.Err() == nil; i++ {
		wait := gosip.T1
		if i < len(probeWaits) {
			wait = probeWaits[i]
		}
		if _, err := conn.Write([]byte("\r\n\r\n")); connRefused(err) {
			return fmt.Errorf("%s %w", dest, ErrUnreachable)
		}
		conn.SetReadDeadline(time.Now().Add(wait))
		for ctx.Err() == nil {
			_, err := conn.Read(buf)
			if connRefused(err) {
				return fmt.Errorf("%s %w", dest, ErrUnreachable)
			}
			if err != nil {
				break // deadline: send the next keep-alive
			}
		}
	}
	return nil
}

func connRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// watch returns a context for a transaction to dest that ends, with ErrUnreachable as
// its cause, when the network reports dest unreachable. heard stops the probing: call it
// on the first answer (a live server needs no more probes) and when the transaction ends.
func (ph *Phone) watch(ctx context.Context, dest string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	probeCtx, heard := context.WithCancel(ctx)
	go func() {
		if err := ph.probe(probeCtx, dest); err != nil {
			cancel(err)
		}
	}()
	return ctx, func() { heard() }
}

// unreachable returns the cause a watched context ended with, if the network said dest
// is unreachable, else err.
func unreachable(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrUnreachable) {
		return cause
	}
	return err
}

// do runs send, a request to dest and the wait for its final response, with RFC 3261's
// retransmissions and timeout, cut short when the network reports dest unreachable.
func (ph *Phone) do(ctx context.Context, dest string, send func(context.Context) (*gosip.Response, error)) (*gosip.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, siputil.TransactionTimeout())
	defer cancel()
	wctx, heard := ph.watch(ctx, dest)
	defer heard()
	res, err := send(wctx)
	if err != nil {
		return nil, unreachable(wctx, err)
	}
	return res, nil
}

// unreachableOutcome is how a phone reports a request the network refused: as RFC 3261
// §8.1.3.1 says of a transport error, a 503.
func unreachableOutcome(err error) lync.Outcome {
	return lync.Outcome{Code: 503, Reason: "Service Unavailable", Warning: err.Error()}
}
