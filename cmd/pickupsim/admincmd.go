package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pickupsim/pickupsim/cmd/pickupsim/internal/admin"
)

// adminClient reads the admin API's address and token from --url/--token (given before
// the cmdlet), else $PICKUPSIM_ADMIN_URL and $PICKUPSIM_ADMIN_TOKEN.
func adminClient(args []string) (*admin.Client, []string, error) {
	c := &admin.Client{Base: os.Getenv("PICKUPSIM_ADMIN_URL"), Token: os.Getenv("PICKUPSIM_ADMIN_TOKEN")}
	if c.Base == "" {
		c.Base = "http://" + defaultAdminAddr
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		k, v, found := strings.Cut(strings.TrimPrefix(args[0], "--"), "=")
		if !found {
			if len(args) < 2 {
				return nil, nil, fmt.Errorf("--%s needs a value", k)
			}
			v, args = args[1], args[1:]
		}
		args = args[1:]
		switch k {
		case "url":
			c.Base = v
		case "token":
			c.Token = v
		default:
			return nil, nil, fmt.Errorf("unknown option --%s (want --url or --token)", k)
		}
	}
	return c, args, nil
}

func newAdminCmd() *cobra.Command {
	var help strings.Builder
	for _, c := range admin.Cmdlets() {
		fmt.Fprintf(&help, "  %-30s %s\n", c.Name, c.Synopsis)
		fmt.Fprintf(&help, "  %-30s   -%s\n", "", strings.Join(c.Params, " -"))
	}
	return &cobra.Command{
		Use:   "admin [--url URL] [--token TOKEN] CMDLET [-Parameter value]...",
		Short: "Run an administrator's cmdlet against a running `pickupsim serve`",
		Long: `Calls the admin API of a running pickupsim serve with a Lync-style cmdlet and its
parameters, PowerShell style, and prints the result as JSON. Examples:

  pickupsim admin Invoke-PoolOutage pool01.contoso.com
  pickupsim admin Invoke-CsPoolFailOver -PoolFqdn pool01.contoso.com -DisasterMode
  pickupsim admin Complete-PoolFailOver pool01.contoso.com
  pickupsim admin Set-CsCallParkOrbit -Identity pickup-pool01 -CallParkService pool02.contoso.com
  pickupsim admin Set-CsCpsConfiguration -Identity pool02.contoso.com -CallPickupTimeoutThreshold 00:01:00

Cmdlets (names with Cs are Lync's; the others are the simulator's own):
` + help.String(),
		DisableFlagParsing: true, // -Identity etc. are PowerShell parameters, not flags
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
				return cmd.Help()
			}
			c, args, err := adminClient(args)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return fmt.Errorf("name a cmdlet (pickupsim admin --help lists them)")
			}
			params, err := admin.ParseCmdletArgs(args[0], args[1:])
			if err != nil {
				return err
			}
			res, err := c.Run(cmd.Context(), args[0], params)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
}

func printJSON(w io.Writer, raw json.RawMessage) error {
	if len(raw) == 0 {
		_, err := fmt.Fprintln(w, "ok")
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func newStatusCmd() *cobra.Command {
	var asJSON bool
	var url, token string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the pools, users, orbit ranges, queues and parked calls of a running `pickupsim serve`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, _ := adminClient(nil)
			if url != "" {
				c.Base = url
			}
			if token != "" {
				c.Token = token
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				raw, _ := json.Marshal(st)
				return printJSON(cmd.OutOrStdout(), raw)
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().StringVar(&url, "url", "", "admin API `URL` (default $PICKUPSIM_ADMIN_URL or http://"+defaultAdminAddr+")")
	cmd.Flags().StringVar(&token, "token", "", "bearer `TOKEN` (default $PICKUPSIM_ADMIN_TOKEN)")
	return cmd
}

func printStatus(w io.Writer, st admin.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tADDRESS\tPHASE\tANSWERING\tREGISTERED\tBRIDGED")
	for _, p := range st.Pools {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%d\n", p.FQDN, p.Address, p.Phase, p.Up, p.Registered, p.ActiveCalls)
	}
	fmt.Fprintln(tw, "\nUSER\tHOME\tPICKUP\tREGISTERED ON\tMODE\tWOULD BE SERVED BY")
	for _, u := range st.Users {
		mode := u.Mode
		if u.Told != "" {
			mode += " (phone shows " + u.Told + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Home, dash(u.PickupNumber), dash(u.RegisteredOn), mode, servedBy(u))
	}
	fmt.Fprintln(tw, "\nORBIT RANGE\tNUMBERS\tTYPE\tCALLPARKSERVICE\t\t")
	for _, o := range st.Orbits {
		fmt.Fprintf(tw, "%s\t%s-%s\t%s\t%s\t\t\n", o.Identity, o.NumberRangeStart, o.NumberRangeEnd, o.Type, o.CallParkService)
	}
	tw.Flush()
	for _, p := range st.Pools {
		if p.BackupRegistrarAt != nil {
			fmt.Fprintf(w, "registrar failover timer of %s: %s takes its users %s\n", p.FQDN, dash(p.Backup), countdown(st.Now, *p.BackupRegistrarAt))
		}
	}
	for _, q := range st.Queues {
		fmt.Fprintf(w, "queue %s on %s: %d ringing\n", q.Number, q.Pool, len(q.Calls))
	}
	for _, p := range st.Parked {
		fmt.Fprintf(w, "parked on %s orbit %s: %s (parked by %s), ring-back %s\n", p.Pool, p.Orbit, p.Parkee, p.Parker, countdown(st.Now, p.RingBackAt))
	}
	for _, b := range st.Bridged {
		fmt.Fprintf(w, "bridged by %s: %s <-> %s for %s\n", b.Pool, b.A, b.B, st.Now.Sub(b.Since).Round(time.Second))
	}
	if len(st.Log) > 0 {
		fmt.Fprintln(w, "\nrecent changes:")
		for _, e := range st.Log[max(0, len(st.Log)-statusLogLines):] {
			fmt.Fprintf(w, "  %s  %s\n", e.At.Local().Format("15:04:05"), e.Text)
		}
	}
}

// statusLogLines is how many changes `pickupsim status` prints (the page shows them all).
const statusLogLines = 15

// servedBy is the pool that would take the user's REGISTER now, and in which mode.
func servedBy(u admin.UserStatus) string {
	if u.ServedBy == "" {
		return "nobody (" + u.Placement + ")"
	}
	return u.ServedBy + " (" + u.Placement + ")"
}

// countdown says when a timer runs out, seen from now.
func countdown(now, at time.Time) string {
	if d := at.Sub(now); d > 0 {
		return fmt.Sprintf("in %d s", int((d+time.Second-1)/time.Second))
	}
	return "now"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
