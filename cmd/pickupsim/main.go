// Command pickupsim is the SIP Call Park / Group Call Pickup disaster-recovery simulator.
// Its sub-commands are wired in their own files; main only builds the root and runs it.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "pickupsim",
		Short:         "Lync Server 2013 Call Park / Group Call Pickup disaster-recovery simulator",
		SilenceUsage:  true,
		SilenceErrors: true, // printed below, except the failed-scenarios marker
	}
	root.AddCommand(newReplayCmd(), newLoadCmd())                 // load.go: load rehearsals
	root.AddCommand(newServeCmd(), newAdminCmd(), newStatusCmd()) // serve.go, admincmd.go
	if err := root.Execute(); err != nil {
		if !errors.Is(err, errScenariosFailed) {
			fmt.Fprintln(os.Stderr, "pickupsim:", err)
		}
		os.Exit(exitCode(err))
	}
}
