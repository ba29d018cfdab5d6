package sip

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/pickupsim/pickupsim/sip/clock"
	"github.com/pickupsim/pickupsim/sip/ids"
	"github.com/pickupsim/pickupsim/sip/internal/siputil"
	"github.com/pickupsim/pickupsim/sip/lync"
	"github.com/pickupsim/pickupsim/sip/topology"
)

// Digest authentication (RFC 3261 22, RFC 2617) of users that have a password in the
// topology: their REGISTERs are challenged with 401, their INVITEs with 407. Users without
// a password register openly, which is the lab default.
//
// Replay protection. Each nonce is random and held by the pool that issued it (a bounded
// table: the oldest nonce makes room for a new one), expires nonceLifetime after it was
// issued on the network's clock, and is bound to what it was used for:
//   - the digest's uri must be the Request-URI of the request it came with (RFC 2617
//     3.2.2.5), so credentials for one request cannot be moved to another;
//   - with qop=auth, each use must carry a higher nonce-count (nc) than the last accepted
//     one; without qop, a nonce is accepted once.
// A captured REGISTER replayed from another port, with another Contact, therefore meets a
// used nonce and is challenged again.

const (
	nonceLifetime = 5 * time.Minute
	// maxNonces bounds each pool's nonce table: a flood of challenges costs at most this
	// many entries (about 100 bytes each).
	maxNonces = 4096
)

// nonceUse is what a pool remembers of a nonce it issued.
type nonceUse struct {
	issued time.Time
	nc     int  // the highest nonce-count accepted so far
	used   bool // accepted once without qop
}

// authenticator issues and checks digest challenges for one pool.
type authenticator struct {
	realm string
	clock clock.Clock
	ids   *ids.Gen // nil: random nonces

	mu     sync.Mutex
	nonces map[string]*nonceUse
	order  []string // issue order, oldest first, for eviction
}

func newAuthenticator(realm string, c clock.Clock) *authenticator {
	return &authenticator{realm: realm, clock: c, nonces: map[string]*nonceUse{}}
}

// issue returns a fresh nonce and remembers it. A replay's pool derives it from the seed
// and what it challenges (package ids), so a replay challenges alike each time; the same
// request retransmitted gets the same nonce again. Otherwise it is random.
func (a *authenticator) issue(about []string) string {
	var nonce string
	switch {
	case a.ids == nil:
		raw := make([]byte, 16)
		rand.Read(raw)
		nonce = base64.RawURLEncoding.EncodeToString(raw)
	case len(about) == 0:
		nonce = a.ids.Next("nonce")
	default:
		nonce = a.ids.Token(append([]string{"nonce"}, about...)...)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.nonces[nonce]; ok {
		*u = nonceUse{issued: a.clock.Now()}
		return nonce
	}
	for len(a.order) >= maxNonces {
		delete(a.nonces, a.order[0])
		a.order = a.order[1:]
	}
	a.nonces[nonce] = &nonceUse{issued: a.clock.Now()}
	a.order = append(a.order, nonce)
	return nonce
}

// held returns how many nonces the table holds, for tests.
func (a *authenticator) held() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.nonces)
}

// challenge is the value of a WWW-Authenticate or Proxy-Authenticate header; about names
// the request it challenges.
func (a *authenticator) challenge(stale bool, about ...string) string {
	c := digest.Challenge{Realm: a.realm, Nonce: a.issue(about), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// Why a request did not authenticate: fixed texts, safe for a Warning.
var (
	errNoCredentials  = errors.New("no credentials")
	errStaleNonce     = errors.New("stale nonce")
	errBadCredentials = errors.New("wrong user name or password")
	errReplayed       = errors.New("credentials already used")
	errWrongURI       = errors.New("credentials for another Request-URI")
)

// verify checks the credentials in header (Authorization or Proxy-Authorization) of req
// for user and password, and spends them.
func (a *authenticator) verify(req *gosip.Request, header, user, password string) error {
	h := req.GetHeader(header)
	if h == nil {
		return errNoCredentials
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return errBadCredentials
	}
	if cred.Username != user || cred.Realm != a.realm {
		return errBadCredentials
	}
	if !sameRequestURI(cred.URI, req.Recipient) {
		return errWrongURI
	}
	a.mu.Lock()
	use, ok := a.nonces[cred.Nonce]
	fresh := ok && a.clock.Now().Sub(use.issued) <= nonceLifetime
	a.mu.Unlock()
	if !fresh {
		return errStaleNonce
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI,
		Username: user, Password: password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return errBadCredentials
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(want.Response)), []byte(strings.ToLower(cred.Response))) != 1 {
		return errBadCredentials
	}
	// Spend the nonce only for valid credentials: a wrong guess does not burn it.
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case cred.QOP == "" && use.used, cred.QOP != "" && cred.Nc <= use.nc:
		return errReplayed
	case cred.QOP == "":
		use.used = true
	default:
		use.nc = cred.Nc
	}
	return nil
}

// sameRequestURI reports whether a digest's uri names the request's Request-URI (scheme,
// user, host and port; parameters aside).
func sameRequestURI(digestURI string, ruri gosip.Uri) bool {
	var u gosip.Uri
	if err := gosip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, ruri.Scheme) && u.User == ruri.User &&
		strings.EqualFold(u.Host, ruri.Host) && u.Port == ruri.Port
}

// password returns the user's password; empty means the user is not authenticated.
func (rt *runtime) password(user string) string {
	u, ok := rt.pool.dep.User(user)
	if !ok {
		return ""
	}
	return u.Password
}

// authenticate checks a request from user against its password, and answers the request
// with a challenge (401 for REGISTER, 407 otherwise) when it does not pass. It reports
// whether the request may go on.
func (rt *runtime) authenticate(req *gosip.Request, tx gosip.ServerTransaction, user string) bool {
	password := rt.password(user)
	if password == "" {
		return true
	}
	code, ask, answer := 407, "Proxy-Authenticate", "Proxy-Authorization"
	if req.Method == gosip.REGISTER {
		code, ask, answer = 401, "WWW-Authenticate", "Authorization"
	}
	err := rt.auth.verify(req, answer, user, password)
	if err == nil {
		return true
	}
	res := lync.Response(req, topology.MustAuthenticate(code, user, err.Error()), rt.pool.fqdn)
	res.AppendHeader(gosip.NewHeader(ask, rt.auth.challenge(errors.Is(err, errStaleNonce),
		siputil.CallID(req), req.CSeq().Value(), req.Via().Params.GetOr("branch", ""))))
	rt.log("challenged", req, "user", user, "why", err.Error())
	sendStateless(tx, res) // a challenge keeps no transaction: the nonce table is the state
	return false
}
