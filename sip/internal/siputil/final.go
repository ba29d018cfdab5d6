package siputil

import (
	"errors"

	gosip "github.com/emiago/sipgo/sip"
)

// errEndedUnanswered is a transaction that ended with neither a final response nor an
// error: sipgo's Do returns (nil, nil) when a transaction is terminated from outside (its
// user agent closing, a pool's outage), and a caller that reads the response would crash.
var errEndedUnanswered = errors.New("the transaction ended without a final response")

// FinalOrError turns sipgo's (nil, nil) from Do into an error, so that a nil response always
// comes with one.
func FinalOrError(res *gosip.Response, err error) (*gosip.Response, error) {
	if err == nil && res == nil {
		return nil, errEndedUnanswered
	}
	return res, err
}
