package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client calls a running admin API, for the pickupsim sub-commands and tests.
type Client struct {
	// Base is the API's root URL, e.g. http://127.0.0.1:5080.
	Base  string
	Token string
	HTTP  *http.Client
}

// APIError is a refusal from the API: its HTTP status and message.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// Run calls a cmdlet with named parameters and returns its result as JSON.
func (c *Client) Run(ctx context.Context, cmdlet string, params map[string]any) (json.RawMessage, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var res Result
	var raw struct {
		Result json.RawMessage `json:"result"`
	}
	data, err := c.do(ctx, http.MethodPost, "/api/cmdlets/"+cmdlet, body)
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal(data, &res)
	_ = json.Unmarshal(data, &raw)
	return raw.Result, nil
}

// Status fetches the network's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	data, err := c.do(ctx, http.MethodGet, "/api/status", nil)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API at %s: %w", c.Base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &APIError{Status: res.StatusCode, Message: e.Error}
	}
	return data, nil
}

// ParseCmdletArgs reads PowerShell-style arguments: "-Name value", "-Name:value", a bare
// "-Switch" (true), and a first bare value for the cmdlet's positional parameter
// ("Invoke-CsPoolFailOver pool01.contoso.com").
func ParseCmdletArgs(name string, args []string) (map[string]any, error) {
	c, ok := lookupCmdlet(name)
	if !ok {
		return nil, fmt.Errorf("no cmdlet named %q", name)
	}
	out := map[string]any{}
	set := func(k string, v any) error {
		for have := range out {
			if strings.EqualFold(have, k) {
				return fmt.Errorf("%s: parameter -%s given twice", c.Name, k)
			}
		}
		out[k] = v
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || len(a) < 2 {
			if i != 0 || c.Positional == "" {
				return nil, fmt.Errorf("%s: unexpected argument %q (name it: -Parameter value)", c.Name, a)
			}
			if err := set(c.Positional, a); err != nil {
				return nil, err
			}
			continue
		}
		key := strings.TrimLeft(a, "-")
		if k, v, found := strings.Cut(key, ":"); found {
			if err := set(k, v); err != nil {
				return nil, err
			}
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			if err := set(key, args[i+1]); err != nil {
				return nil, err
			}
			i++
			continue
		}
		if err := set(key, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}
