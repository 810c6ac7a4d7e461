package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
)

// rescanFlags are the options of `osprey rescan`.
type rescanFlags struct {
	allPRs, dryRun, json bool
	since, until         string
}

func newRescanCmd(b Build, load func() (server.Config, error)) *cobra.Command {
	var f rescanFlags
	cmd := &cobra.Command{
		Use:   "rescan OWNER/REPO|all:ORG [--all-prs] [--since DATE] [--until DATE] [--dry-run] [--json]",
		Short: "Reconcile the pull requests of a repository or an organisation now, or show what that would change",
		Long: `Reconcile pull requests that no event pointed at, in this process, through the same code as
the triage's jobs, and report on each.

OWNER/REPO takes one repository; all:ORG every repository of that organisation (or user) that
the app's installation there can see, except archived ones. Open pull requests only, unless
--all-prs. --since and --until keep those created in a window: a date (YYYY-MM-DD, UTC; --until
includes that whole day) or an RFC 3339 time. --dry-run plans and writes nothing: each line then
says what the reconcile would do. A pull request that fails is reported and the others still
run; the exit status is non-zero if any failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(args[0])
			if err != nil {
				return err
			}
			return runRescan(cmd, b, load, req, f.json)
		},
	}
	cmd.Flags().BoolVar(&f.allPRs, "all-prs", false, "closed and merged pull requests too, not only open ones")
	cmd.Flags().StringVar(&f.since, "since", "", "only pull requests created at or after DATE (YYYY-MM-DD or RFC 3339)")
	cmd.Flags().StringVar(&f.until, "until", "", "only pull requests created up to DATE (a date includes that day)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "plan and report, write nothing")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the report as JSON")
	return cmd
}

// request checks the target and the dates before anything connects.
func (f rescanFlags) request(target string) (ospr.RescanRequest, error) {
	if _, _, _, err := ospr.ParseRescanTarget(target); err != nil {
		return ospr.RescanRequest{}, err
	}
	since, until, err := ospr.ParseRescanDates(f.since, f.until)
	if err != nil {
		return ospr.RescanRequest{}, fmt.Errorf("--%s", err)
	}
	return ospr.RescanRequest{Target: target, AllPRs: f.allPRs, Since: since, Until: until, DryRun: f.dryRun}, nil
}

// runRescan builds the server's triage and runs the rescan in this process.
func runRescan(cmd *cobra.Command, b Build, load func() (server.Config, error), req ospr.RescanRequest, asJSON bool) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	if cfg.SetupMode() {
		return errors.New("the GitHub App is not configured (github.app.integration_id and private_key): a rescan needs it")
	}
	logger := cfg.NewLogger(cmd.ErrOrStderr())
	ctx := logger.WithContext(cmd.Context())
	srv, err := server.New(ctx, cfg, logger, server.Options{Version: b.Version, AppManifest: b.AppManifest})
	if err != nil {
		return err
	}
	defer srv.Close()
	svc, err := srv.Triage(ctx)
	if err != nil {
		return err
	}
	report, err := svc.Rescan(ctx, req)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printRescan(out, report)
	}
	return rescanOutcome(report)
}

// printRescan writes one line per pull request and a summary.
func printRescan(w io.Writer, r ospr.RescanReport) {
	for _, pr := range r.PullRequests {
		fmt.Fprintln(w, prLine(pr, r.DryRun))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	fmt.Fprintln(w, summaryLine(r))
}

// prLine is "owner/repo#n class: what happened; …".
func prLine(pr ospr.PRReport, dryRun bool) string {
	head := pr.PullRequest
	if pr.Class != "" {
		head += " " + pr.Class
	}
	var parts []string
	for _, a := range pr.Actions {
		switch {
		case dryRun:
			parts = append(parts, "would "+a)
		case slices.Contains(pr.Failed, a):
			parts = append(parts, "FAILED "+a)
		case slices.ContainsFunc(pr.Problems, func(p string) bool { return strings.HasPrefix(p, a+": ") }):
			parts = append(parts, "not done "+a)
		default:
			parts = append(parts, "done "+a)
		}
	}
	if pr.ConfigError != "" {
		parts = append(parts, "config error: "+pr.ConfigError)
	}
	for _, p := range pr.Problems {
		parts = append(parts, "problem: "+p)
	}
	if pr.Error != "" {
		parts = append(parts, "error: "+pr.Error)
	}
	if len(parts) == 0 {
		parts = []string{"nothing to do"}
	}
	return head + ": " + strings.Join(parts, "; ")
}

// summaryLine counts what the report holds.
func summaryLine(r ospr.RescanReport) string {
	var changed, failed int
	for _, pr := range r.PullRequests {
		if len(pr.Actions) > 0 {
			changed++
		}
		if pr.Error != "" {
			failed++
		}
	}
	verb, mode := "with changes made", ""
	if r.DryRun {
		verb, mode = "with changes planned", " (dry run)"
	}
	return fmt.Sprintf("rescan %s%s: %d pull request(s), %d %s, %d with errors, %d repository error(s)",
		r.Target, mode, len(r.PullRequests), changed, verb, failed, len(r.Errors))
}

// rescanOutcome is the command's error: any pull request or repository
// that failed makes the exit status non-zero.
func rescanOutcome(r ospr.RescanReport) error {
	failed := 0
	for _, pr := range r.PullRequests {
		if pr.Error != "" {
			failed++
		}
	}
	if failed == 0 && len(r.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("rescan of %s: %d pull request(s) and %d repository(ies) failed", r.Target, failed, len(r.Errors))
}
