package cmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
)

func newConfigCmd(b Build, load func() (server.Config, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the triage configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check OWNER/REPO",
		Short: "Print a repository's effective triage settings, where each comes from, and what is wrong",
		Long: `Print the triage settings that apply to OWNER/REPO: the server's config.yml, then
osprey.yml in the organisation's .github repository, then the repository's own
.github/osprey.yml. Each line names the layer its value came from.

It also checks what a reconcile only finds out when it fails: the project boards
(the app installed on their owner, the project, its fields), the repository's
catalog-info.yaml and the contributor data. It exits non-zero when anything is wrong.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			owner, repo, ok := strings.Cut(args[0], "/")
			if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
				return fmt.Errorf("%q is not OWNER/REPO", args[0])
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			if cfg.SetupMode() {
				return errors.New("the GitHub App is not configured (github.app.integration_id and private_key)")
			}
			ctx := cmd.Context()
			srv, err := server.New(ctx, cfg, cfg.NewLogger(io.Discard), server.Options{Version: b.Version, AppManifest: b.AppManifest})
			if err != nil {
				return err
			}
			defer srv.Close()
			var problems []string
			if _, err := srv.Triage(ctx); errors.Is(err, server.ErrTriageOff) {
				return err
			} else if err != nil {
				problems = append(problems, err.Error())
			}
			report, err := srv.TriageService().CheckConfig(ctx, owner, repo)
			if err != nil {
				return err
			}
			report.Problems = append(problems, report.Problems...)
			printConfigReport(cmd.OutOrStdout(), report)
			if len(report.Problems) > 0 {
				return fmt.Errorf("%d problem(s) in the triage configuration of %s", len(report.Problems), report.Repository)
			}
			return nil
		},
	})
	return cmd
}

func printConfigReport(out io.Writer, r ospr.ConfigReport) {
	fmt.Fprintf(out, "# %s\n# layers, lowest first: server config", r.Repository)
	for _, l := range r.Layers {
		fmt.Fprintf(out, ", %s", l)
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, r.Settings)
	if len(r.Problems) == 0 {
		fmt.Fprintln(out, "# no problems found")
		return
	}
	fmt.Fprintln(out, "# problems:")
	for _, p := range r.Problems {
		fmt.Fprintf(out, "#   - %s\n", p)
	}
}
