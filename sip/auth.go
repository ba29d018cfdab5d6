package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/icholy/digest"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/pickupsim/pickupsim/sip/topology"
)

// Digest authentication (RFC 3261 22, RFC 2617) of users that have a password in the
// topology: their REGISTERs are challenged with 401, their INVITEs with 407. Users without
// a password register openly, which is the lab default. Nonces are stateless (a time and an
// HMAC of it) and live nonceLifetime of wall-clock time: they guard against replay, so the
// virtual clock of a replay has no say in them.

const nonceLifetime = 5 * time.Minute

// authenticator issues and checks digest challenges for one pool.
type authenticator struct {
	realm  string
	secret []byte
}

func newAuthenticator(realm string) *authenticator {
	secret := make([]byte, 32)
	rand.Read(secret)
	return &authenticator{realm: realm, secret: secret}
}

func (a *authenticator) nonce(at time.Time) string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(at.Unix()))
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(ts[:])
	return base64.RawURLEncoding.EncodeToString(append(ts[:], mac.Sum(nil)[:16]...))
}

// fresh reports whether nonce was issued by this authenticator less than nonceLifetime ago.
func (a *authenticator) fresh(nonce string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return false
	}
	at := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	if time.Since(at) > nonceLifetime || subtle.ConstantTimeCompare([]byte(a.nonce(at)), []byte(nonce)) != 1 {
		return false
	}
	return true
}

// challenge is the value of a WWW-Authenticate or Proxy-Authenticate header.
func (a *authenticator) challenge(stale bool) string {
	c := digest.Challenge{Realm: a.realm, Nonce: a.nonce(time.Now()), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

var (
	errNoCredentials  = errors.New("no credentials")
	errStaleNonce     = errors.New("stale nonce")
	errBadCredentials = errors.New("wrong user name or password")
)

// verify checks the credentials in header (Authorization or Proxy-Authorization) of req
// for user and password.
func (a *authenticator) verify(req *gosip.Request, header, user, password string) error {
	h := req.GetHeader(header)
	if h == nil {
		return errNoCredentials
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return fmt.Errorf("%w: %v", errBadCredentials, err)
	}
	if cred.Username != user || cred.Realm != a.realm {
		return errBadCredentials
	}
	if !a.fresh(cred.Nonce) {
		return errStaleNonce
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI,
		Username: user, Password: password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return fmt.Errorf("%w: %v", errBadCredentials, err)
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(want.Response)), []byte(strings.ToLower(cred.Response))) != 1 {
		return errBadCredentials
	}
	return nil
}

// password returns the user's password; empty means the user is not authenticated.
func (rt *runtime) password(user string) string {
	u, ok := rt.pool.net.userExists(user)
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
	code, reason, ask, answer := 407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization"
	if req.Method == gosip.REGISTER {
		code, reason, ask, answer = 401, "Unauthorized", "WWW-Authenticate", "Authorization"
	}
	err := rt.auth.verify(req, answer, user, password)
	if err == nil {
		return true
	}
	res := rejectionResponse(req, &topology.Rejection{Code: code, Reason: reason,
		Warning: fmt.Sprintf("%s must authenticate: %v", user, err)}, rt.pool.fqdn)
	res.AppendHeader(gosip.NewHeader(ask, rt.auth.challenge(errors.Is(err, errStaleNonce))))
	rt.log("challenged", req, "user", user, "why", err.Error())
	tx.Respond(res)
	return false
}
