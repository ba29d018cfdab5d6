package loadphone

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// RFC 3261 timer values (section 17, table 4).
const (
	t1 = 500 * time.Millisecond
	t2 = 4 * time.Second
	// timerB is 64·T1: no client transaction retransmits longer than this, even when
	// whoever waits on it forgets to end it.
	timerB = 64 * t1
	// inviteLinger keeps a finished INVITE client transaction matchable, so that a
	// retransmitted final response is acknowledged again (Timer D's job, shortened:
	// loopback does not reorder for seconds).
	inviteLinger = 5 * time.Second
)

// errTimeout is a server that did not answer in time.
var errTimeout = errors.New("no answer")

// clientTx is one client transaction (RFC 3261 17.1): the request, its retransmissions
// over UDP, and the responses it matched.
type clientTx struct {
	pop    *Population
	key    string // Via branch and method: a CANCEL shares its INVITE's branch
	req    *gosip.Request
	data   []byte
	l      link
	dst    netip.AddrPort
	invite bool
	res    chan *gosip.Response
	start  time.Time

	mu         sync.Mutex
	timer      *time.Timer
	interval   time.Duration
	proceeding bool
	final      bool
	done       bool
	ack        []byte                // the ACK of a non-2xx final answer, sent again on its retransmissions
	on2xx      func(*gosip.Response) // acknowledges a retransmitted 2xx again (the dialog's ACK)
}

func txKey(branch string, method gosip.RequestMethod) string { return branch + "|" + string(method) }

// send starts a client transaction: it tops req with a Via naming l and a new branch
// (or the branch given, for a CANCEL), sends it to dst, and retransmits it over UDP until
// it is answered.
func (pop *Population) send(req *gosip.Request, l link, dst netip.AddrPort, branch string) (*clientTx, error) {
	if branch == "" {
		branch = gosip.GenerateBranchN(16)
	}
	proto, by := l.sentBy()
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: proto,
		Host: by.Addr().String(), Port: int(by.Port()), Params: gosip.NewParams()}
	via.Params.Add("branch", branch)
	via.Params.Add("rport", "")
	req.PrependHeader(via)
	if req.MaxForwards() == nil {
		mf := gosip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
	}
	if req.ContentLength() == nil {
		req.SetBody(nil)
	}
	tx := &clientTx{
		pop: pop, key: txKey(branch, req.Method), req: req, data: encode(req), l: l, dst: dst,
		invite: req.Method == gosip.INVITE, res: make(chan *gosip.Response, 8), start: time.Now(), interval: t1,
	}
	pop.txs.Store(tx.key, tx)
	if err := l.write(tx.data, dst); err != nil {
		pop.txs.Delete(tx.key)
		return nil, err
	}
	if !l.reliable() {
		tx.mu.Lock()
		tx.timer = time.AfterFunc(t1, tx.retransmit)
		tx.mu.Unlock()
	}
	return tx, nil
}

// retransmit is Timer A (INVITE: doubling) or Timer E (others: doubling up to T2).
func (tx *clientTx) retransmit() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.final || tx.done || (tx.invite && tx.proceeding) || time.Since(tx.start) > timerB {
		return
	}
	if tx.l.write(tx.data, tx.dst) == nil {
		tx.pop.stats.retransmissions.Add(1)
	}
	tx.interval *= 2
	if !tx.invite || tx.proceeding {
		tx.interval = min(tx.interval, t2)
	}
	tx.timer.Reset(tx.interval)
}

// onResponse hands a response to the client transaction its Via branch and CSeq method
// name.
func (pop *Population) onResponse(res *gosip.Response) {
	via, cseq := res.Via(), res.CSeq()
	if via == nil || cseq == nil {
		pop.stats.stray.Add(1)
		return
	}
	branch, _ := via.Params.Get("branch")
	v, ok := pop.txs.Load(txKey(branch, cseq.MethodName))
	if !ok {
		pop.stats.stray.Add(1)
		return
	}
	v.(*clientTx).receive(res)
}

func (tx *clientTx) receive(res *gosip.Response) {
	tx.mu.Lock()
	if tx.final { // a retransmitted final answer
		ack, on2xx := tx.ack, tx.on2xx
		tx.mu.Unlock()
		switch {
		case res.StatusCode >= 300 && ack != nil:
			_ = tx.l.write(ack, tx.dst)
		case res.IsSuccess() && on2xx != nil:
			on2xx(res)
		}
		return
	}
	if res.StatusCode < 200 {
		tx.proceeding = true
		tx.mu.Unlock()
		select {
		case tx.res <- res:
		default: // nobody reads provisional answers that fast; the final one matters
		}
		return
	}
	tx.final = true
	if tx.timer != nil {
		tx.timer.Stop()
	}
	if tx.invite && res.StatusCode >= 300 {
		tx.ack = encode(nonSuccessAck(tx.req, res))
		_ = tx.l.write(tx.ack, tx.dst)
	}
	tx.mu.Unlock()
	tx.res <- res // room: only one final answer is ever queued
	if tx.invite {
		time.AfterFunc(inviteLinger, func() { tx.pop.txs.Delete(tx.key) })
	} else {
		tx.pop.txs.Delete(tx.key)
	}
}

// next waits up to timeout for the transaction's next response.
func (tx *clientTx) next(timeout time.Duration) (*gosip.Response, error) {
	return tx.nextOr(timeout, nil)
}

// nextOr is next that also gives up when stop is closed.
func (tx *clientTx) nextOr(timeout time.Duration, stop <-chan struct{}) (*gosip.Response, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-tx.res:
		return res, nil
	case <-t.C:
		return nil, errTimeout
	case <-stop:
		return nil, errTimeout
	case <-tx.pop.closing:
		return nil, errClosed
	}
}

// final waits up to timeout for the final response, skipping provisional ones; onProv
// sees each provisional response.
func (tx *clientTx) finalAnswer(timeout time.Duration, onProv func(*gosip.Response)) (*gosip.Response, error) {
	deadline := time.Now().Add(timeout)
	for {
		res, err := tx.next(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 {
			return res, nil
		}
		if onProv != nil {
			onProv(res)
		}
	}
}

// end stops retransmitting; an unanswered transaction is forgotten at once.
func (tx *clientTx) end() {
	tx.mu.Lock()
	tx.done = true
	if tx.timer != nil {
		tx.timer.Stop()
	}
	final := tx.final
	tx.mu.Unlock()
	if !final {
		tx.pop.txs.Delete(tx.key)
	}
}

// nonSuccessAck is the ACK of a non-2xx final answer to an INVITE (RFC 3261 17.1.1.3):
// part of the INVITE's transaction, with its top Via and the answer's To tag.
func nonSuccessAck(inv *gosip.Request, res *gosip.Response) *gosip.Request {
	ack := gosip.NewRequest(gosip.ACK, *inv.Recipient.Clone())
	ack.AppendHeader(gosip.HeaderClone(inv.Via()))
	ack.AppendHeader(gosip.HeaderClone(inv.From()))
	if to := res.To(); to != nil {
		ack.AppendHeader(gosip.HeaderClone(to))
	} else {
		ack.AppendHeader(gosip.HeaderClone(inv.To()))
	}
	ack.AppendHeader(gosip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&gosip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: gosip.ACK})
	mf := gosip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.SetBody(nil)
	return ack
}

// serverInvite is the UAS side of an INVITE transaction (RFC 3261 17.2.1): the last
// answer sent, sent again when the INVITE is, and a final answer retransmitted (Timer G)
// until the ACK arrives. A 2xx is retransmitted the same way (13.3.1.4).
type serverInvite struct {
	pop  *Population
	l    link
	dst  netip.AddrPort
	mu   sync.Mutex
	last []byte
	// final is the final answer's code, 0 while none was sent.
	final    int
	acked    bool
	timer    *time.Timer
	interval time.Duration
	start    time.Time
}

// respond sends an answer; a final one is retransmitted over UDP until acknowledged.
func (s *serverInvite) respond(res *gosip.Response) {
	data := encode(res)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != 0 {
		return // answered already (a CANCEL raced the answer)
	}
	s.last = data
	_ = s.l.write(data, s.dst)
	if res.StatusCode < 200 {
		return
	}
	s.final = res.StatusCode
	if !s.l.reliable() {
		s.interval, s.start = t1, time.Now()
		s.timer = time.AfterFunc(t1, s.retransmit)
	}
}

func (s *serverInvite) retransmit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acked || time.Since(s.start) > timerB {
		return
	}
	if s.l.write(s.last, s.dst) == nil {
		s.pop.stats.retransmissions.Add(1)
	}
	s.interval = min(2*s.interval, t2)
	s.timer.Reset(s.interval)
}

// again answers a retransmitted INVITE with the last answer.
func (s *serverInvite) again() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil {
		_ = s.l.write(s.last, s.dst)
	}
}

// ack stops the retransmissions.
func (s *serverInvite) ack() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// answered reports the final code sent, 0 while none was.
func (s *serverInvite) answered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final
}
