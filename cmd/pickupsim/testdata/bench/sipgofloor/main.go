// Command sipgofloor is the floor of run.sh's comparison: a SIP server on sipgo (the
// version pickupsim uses) that does only what the benchmark's SIPp scenarios need and
// nothing else, so that its CPU per REGISTER and per call is what sipgo itself costs:
// parsing, the transaction layer's server transaction and goroutine for every request,
// and writing. No topology, no logging, no locks of pickupsim's.
//
//   - REGISTER: the To user's Contact is kept in a map, and 200 OK goes out statelessly
//     (written on the transport, as pickupsim's registrar does since issue 14).
//   - INVITE, ACK, BYE: forwarded statelessly (RFC 3261 16.11) to the Contact the
//     Request-URI's user registered, with a Via of the server's own on top and
//     Max-Forwards decremented; 404 when the user is not registered.
//   - Responses: they match no client transaction, so sipgo hands them to the unhandled
//     response handler, which takes the server's Via off and sends them on to the next.
//
// Built and run by run.sh (SCENARIOS=... TARGETS="pickupsim kamailio sipgo"); not part of
// CI. It is in testdata so that `go build ./...` and the module's tests leave it alone.
package main

import (
	"context"
	_ "expvar" // /debug/vars: memory statistics for run.sh's sampler, as pickupsim's --pprof
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // /debug/pprof: run.sh's PROFILE=yes
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5060", "UDP address to listen on")
	debug := flag.String("pprof", "", "serve /debug/pprof and /debug/vars on this loopback address")
	flag.Parse()
	if *debug != "" {
		go func() { _ = http.ListenAndServe(*debug, nil) }()
	}
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "sipgofloor:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	if u, ok := conn.(*net.UDPConn); ok {
		_ = u.SetReadBuffer(4 << 20) // as the pools and Kamailio (maxbuffer)
		_ = u.SetWriteBuffer(4 << 20)
	}
	host, portS, _ := net.SplitHostPort(conn.LocalAddr().String())
	port, _ := strconv.Atoi(portS)
	laddr := sip.Addr{IP: net.ParseIP(host), Port: port}

	var ua *sipgo.UserAgent
	relay := func(res *sip.Response) { // the Via on top is ours: pass the response to the next
		if !res.RemoveHeader("Via") || res.Via() == nil {
			return
		}
		_ = ua.TransportLayer().WriteMsg(res)
	}
	ua, err = sipgo.NewUA(sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(relay)))
	if err != nil {
		return err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return err
	}
	var contacts sync.Map // user -> "ip:port" of its Contact
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if c := req.Contact(); c != nil {
			contacts.Store(req.To().Address.User, c.Address.HostPort())
			res.AppendHeader(c.Clone())
		}
		res.AppendHeader(sip.NewHeader("Expires", "3600"))
		_ = srv.WriteResponse(res)
	})
	forward := func(req *sip.Request, tx sip.ServerTransaction) {
		dest, ok := contacts.Load(req.Recipient.User)
		if !ok {
			if req.Method != sip.ACK {
				_ = srv.WriteResponse(sip.NewResponseFromRequest(req, 404, "Not Found", nil))
			}
			return
		}
		if mf := req.MaxForwards(); mf != nil {
			mf.Dec()
		}
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: host, Port: port, Params: sip.NewParams()}
		via.Params.Add("branch", sip.GenerateBranch())
		req.PrependHeader(via)
		req.SetDestination(dest.(string))
		req.Laddr = laddr // leave from the listening socket, as pickupsim's pools do
		_ = ua.TransportLayer().WriteMsg(req)
	}
	srv.OnInvite(forward)
	srv.OnAck(forward)
	srv.OnBye(forward)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); conn.Close() }()
	fmt.Printf("sipgofloor listening on %s\n", conn.LocalAddr())
	err = srv.ServeUDP(conn)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
