package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

func newReplayCmd(b Build, load func() (server.Config, error)) *cobra.Command {
	var event, payloadPath, guid string
	cmd := &cobra.Command{
		Use:   "replay (--delivery GUID | --event EVENT --payload FILE [--delivery GUID])",
		Short: "Process one delivery now, in this process, through the same handlers as the server",
		Long: `Process one delivery now, through the same handler path as a live delivery, and exit
non-zero if its handler fails.

With --delivery alone, re-run a delivery stored in Postgres (whatever its status).
With --event and --payload, record the payload file as a new delivery (no signature
needed) and process it; --delivery then names its GUID (default: a new one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if payloadPath == "" && event == "" && guid == "" {
				return errors.New("give --delivery GUID, or --event and --payload")
			}
			if (payloadPath == "") != (event == "") {
				return errors.New("--event and --payload go together")
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			if cfg.SetupMode() {
				return errors.New("the GitHub App is not configured (github.app.integration_id and private_key): handlers need it")
			}
			ctx := cmd.Context()
			srv, err := server.New(ctx, cfg, cfg.NewLogger(os.Stderr), server.Options{Version: b.Version, AppManifest: b.AppManifest})
			if err != nil {
				return err
			}
			defer srv.Close()

			if payloadPath != "" {
				payload, err := os.ReadFile(payloadPath)
				if err != nil {
					return err
				}
				if guid == "" {
					guid = "replay-" + uuid.NewString()
				}
				receipt, err := srv.Scheduler().RecordUnqueued(ctx, store.Delivery{GUID: guid, Event: event, Payload: payload})
				if err != nil {
					return fmt.Errorf("recording %s: %w", payloadPath, err)
				}
				if receipt == store.Duplicate {
					return fmt.Errorf("delivery %s is already stored; run `osprey replay --delivery %s` to process it again", guid, guid)
				}
			}

			if _, err := store.GetDelivery(ctx, srv.DB(), guid); errors.Is(err, store.ErrDeliveryNotFound) {
				return fmt.Errorf("no delivery with GUID %s is stored", guid)
			}
			procErr := srv.Processor().Process(ctx, guid, true)
			d, err := store.GetDelivery(ctx, srv.DB(), guid)
			if err != nil {
				return errors.Join(procErr, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "delivery %s (%s", d.GUID, d.Event)
			if d.Action != "" {
				fmt.Fprintf(cmd.OutOrStdout(), ".%s", d.Action)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "): %s after %d attempt(s)\n", d.Status, d.Attempts)
			if procErr != nil {
				return fmt.Errorf("handler failed: %w", procErr)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&event, "event", "", "event type of the payload, as in X-GitHub-Event (e.g. installation)")
	cmd.Flags().StringVar(&payloadPath, "payload", "", "file holding the JSON payload")
	cmd.Flags().StringVar(&guid, "delivery", "", "delivery GUID (X-GitHub-Delivery)")
	return cmd
}
