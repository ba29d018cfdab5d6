package admin

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The admin API's guard against the two ways a browser on the lab machine can be turned
// against it (issue 10.6), and against slow clients:
//   - cross-site requests (CSRF): a page on another origin POSTing a cmdlet. Cmdlets
//     require Content-Type: application/json (a cross-site form or a "simple" fetch cannot
//     send it without a CORS preflight, which the API never grants), and any request whose
//     Origin is not the API's own, or that the browser marks cross-site
//     (Sec-Fetch-Site, via net/http's CrossOriginProtection), is refused with 403;
//   - DNS rebinding: a page whose name is made to resolve to 127.0.0.1 is same-origin for
//     the browser but sends its own name in Host. Without a token the API answers only
//     requests whose Host is the address it listens on, or localhost, 127.0.0.1 or [::1],
//     with its port. With a token the Host is not checked (the API may be bound off
//     loopback and named freely): a rebinding page does not know the token.
//   - slow clients: headers must arrive within ReadHeaderTimeout, a cmdlet's body within
//     Config.BodyTimeout and under maxBody bytes; idle keep-alive connections close after
//     IdleTimeout. (No ReadTimeout on the whole server: it would cut the status streams.)

// Limits of the admin server.
const (
	readHeaderTimeout  = 10 * time.Second
	idleTimeout        = 2 * time.Minute
	maxHeaderBytes     = 64 << 10
	defaultBodyTimeout = 10 * time.Second
)

// guard wraps the API's handler with the origin, Host and token checks.
func (s *Server) guard(next http.Handler) http.Handler {
	checked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			s.log.Warn("admin request from another origin refused", "origin", origin, "host", r.Host, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-origin requests are refused"})
			return
		}
		if s.cfg.Token == "" && !ownHost(r) {
			s.log.Warn("admin request for another host refused", "host", r.Host, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, errorBody{Error: fmt.Sprintf("Host %q is not this API's address: use localhost or 127.0.0.1 with its port, or set a token", r.Host)})
			return
		}
		next.ServeHTTP(w, r)
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-site admin request refused", "path", r.URL.Path, "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-origin requests are refused"})
	}))
	return cop.Handler(s.auth(checked))
}

// sameOrigin reports whether an Origin header names the host the request was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// ownHost reports whether the request's Host names the address the API was reached on:
// that IP, or a loopback name, with the listening port.
func ownHost(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lhost, lport, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, "80"
	}
	if port != lport {
		return false
	}
	host = strings.Trim(strings.ToLower(host), "[]")
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.Equal(net.ParseIP(lhost))
	}
	return false
}

// readCmdletBody reads a cmdlet's JSON parameters within the body's size and time limits.
// It answers the request itself and reports false when the body is refused.
func (s *Server) readCmdletBody(w http.ResponseWriter, r *http.Request, cmdlet string) ([]byte, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: cmdlet + ": send the parameters as Content-Type: application/json"})
		return nil, false
	}
	timeout := s.cfg.BodyTimeout
	if timeout <= 0 {
		timeout = defaultBodyTimeout
	}
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("%s: the body must be a JSON object under %d bytes", cmdlet, maxBody)})
		return nil, false
	case errors.As(err, &netErr) && netErr.Timeout():
		s.log.Warn("admin request body too slow", "cmdlet", cmdlet, "timeout", timeout)
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, errorBody{Error: fmt.Sprintf("%s: the body did not arrive within %s", cmdlet, timeout)})
		return nil, false
	case err != nil:
		writeJSON(w, http.StatusBadRequest, errorBody{Error: cmdlet + ": the body could not be read"})
		return nil, false
	}
	return body, true
}
