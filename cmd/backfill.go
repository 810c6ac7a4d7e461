package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/backfill"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

// backfillFlags are the options of `osprey backfill`.
type backfillFlags struct {
	only, since string
	json        bool
}

// How often the progress is read and shown, and how often a line of one
// repository may be printed again when stderr is not a terminal.
const (
	backfillRefresh  = 500 * time.Millisecond
	backfillLogEvery = 5 * time.Second
)

func newBackfillCmd(b Build, load func() (server.Config, error)) *cobra.Command {
	var f backfillFlags
	cmd := &cobra.Command{
		Use:   "backfill OWNER/REPO|all:ORG [--only KINDS] [--since DATE] [--json]",
		Short: "Load a repository's (or an organisation's) history from GitHub's API into Postgres, showing progress",
		Long: `Read what webhooks never told osprey — pull requests, issues, comments, labels and
milestones created before the app was installed — from GitHub's REST API, and replicate it
into Postgres as the server's scans do.

OWNER/REPO scans one repository; all:ORG every repository the app's installation on that
organisation (or user) can see, except archived ones. --only picks what to read, from
pulls, issues, comments, labels, milestones and files, comma-separated (default: all of them
but files, which cost one request per pull request). --since keeps what was updated at or
after DATE (YYYY-MM-DD, UTC, or an RFC 3339 time); labels and milestones, which GitHub cannot
filter so, are read whole. Without --since every list is read to the end, and what GitHub no
longer lists is then marked deleted in Postgres.

The scans are queued in the database and worked by this process, on the backfill queue only
(it takes no webhooks). If an "osprey serve" runs on the same database, its workers take
their share of the pages. A repository whose scan is already queued or running is not
scanned twice: this command follows that scan instead, with the kinds it was asked for.

While it runs, a line per repository on stderr shows its state, a bar with the share of pages
read (once their number is known), items, pages, API calls, 304s (answers from the ETag
cache, which cost no rate limit), errors (failed attempts, most of them retried) and the time
left. On a terminal the lines are redrawn in place; otherwise a repository's line is printed
when it changes, at most every 5 seconds. At the end a summary gives the figures of each
repository and their total; --json prints it as JSON on stdout instead, and no progress lines.

The exit status is non-zero if any scan failed; the error names each failed repository and
why. Ctrl-C stops the workers once their current page is written: scans not over stay
queued in the database, and running this command again (or a running server) finishes them.
A scan that shows no sign of life for backfill.stale_after (2 hours by default) is taken as
abandoned, and the next request for it starts afresh.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(args[0], cmd.Flags().Changed("only"), time.Now())
			if err != nil {
				return err
			}
			return runBackfill(cmd, b, load, req, f.json)
		},
	}
	cmd.Flags().StringVar(&f.only, "only", "", "what to read, comma-separated: pulls,issues,comments,labels,milestones,files (default: all but files)")
	cmd.Flags().StringVar(&f.since, "since", "", "only what was updated at or after DATE (YYYY-MM-DD or RFC 3339); no deletions are then recorded")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the summary as JSON on stdout, and no progress")
	return cmd
}

// request checks the target, the kinds and the date before anything
// connects.
func (f backfillFlags) request(target string, onlyGiven bool, now time.Time) (server.BackfillRequest, error) {
	if _, _, _, err := ospr.ParseRescanTarget(target); err != nil {
		return server.BackfillRequest{}, err
	}
	req := server.BackfillRequest{Target: target, RequestedBy: backfill.RequestedByCLI}
	if onlyGiven {
		kinds, err := backfill.ParseKinds(f.only)
		if err != nil {
			return server.BackfillRequest{}, fmt.Errorf("--only %q: %w", f.only, err)
		}
		req.Kinds = kinds
	}
	since, _, err := ospr.ParseRescanDates(f.since, "")
	if err != nil {
		return server.BackfillRequest{}, fmt.Errorf("--%w", err)
	}
	if since.After(now) {
		return server.BackfillRequest{}, fmt.Errorf("--since %q is in the future: nothing would be read", f.since)
	}
	req.Since = since
	return req, nil
}

// runBackfill queues the scans, works them in this process with River on
// the backfill queue alone, shows their progress and reports.
func runBackfill(cmd *cobra.Command, b Build, load func() (server.Config, error), req server.BackfillRequest, asJSON bool) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	if cfg.SetupMode() {
		return errors.New("the GitHub App is not configured (github.app.integration_id and private_key): a backfill needs it")
	}
	started := time.Now()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stderr := cmd.ErrOrStderr()
	display := newProgressDisplay(stderr, isTerminal(stderr), asJSON)
	// Log lines go through the display, which clears its lines first.
	logger := cfg.NewLogger(display)
	ctx = logger.WithContext(ctx)

	srv, err := server.New(ctx, cfg, logger, server.Options{Version: b.Version, AppManifest: b.AppManifest,
		Queues: []string{backfill.Queue}})
	if err != nil {
		return err
	}
	defer srv.Close()
	queued, err := srv.QueueBackfill(ctx, req)
	if err != nil {
		return err
	}
	if len(queued) == 0 {
		return fmt.Errorf("%s: the app's installation sees no repository there (archived ones are left out): nothing to backfill", req.Target)
	}
	ids := make([]int64, len(queued))
	for i, q := range queued {
		ids[i] = q.Scan.ID
		if !q.Created && !asJSON {
			display.note(fmt.Sprintf("%s/%s: a scan is already %s (scan %d, asked by %s): following it",
				q.Scan.Owner, q.Scan.Repo, q.Scan.State, q.Scan.ID, q.Scan.RequestedBy))
		}
	}

	// River cancels running jobs when its context ends: the workers get
	// one that does not, and StopWorkers lets them finish their page.
	if err := srv.StartWorkers(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	progress, followErr := followScans(ctx, srv, ids, display)
	interrupted := ctx.Err() != nil
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	srv.StopWorkers(stopCtx)
	if followErr != nil {
		return followErr
	}
	if interrupted {
		// What the workers wrote while stopping counts too.
		if p, err := readProgress(stopCtx, srv, ids, nil); err == nil {
			progress = p
		}
	}
	display.finish(progress)

	summary := summarize(req, progress, time.Since(started), interrupted)
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(summary); err != nil {
			return err
		}
	} else {
		printBackfillSummary(out, summary)
	}
	return backfillOutcome(summary)
}

// followScans reads the progress of scans ids every backfillRefresh and
// shows it, until every scan is over or ctx ends.
func followScans(ctx context.Context, srv *server.Server, ids []int64, display *progressDisplay) ([]backfill.Progress, error) {
	tick := time.NewTicker(backfillRefresh)
	defer tick.Stop()
	var progress []backfill.Progress
	for {
		p, err := readProgress(ctx, srv, ids, progress)
		if ctx.Err() != nil {
			return progress, nil
		}
		if err != nil {
			return progress, err
		}
		progress = p
		display.update(progress, time.Now())
		if allOver(progress) {
			return progress, nil
		}
		select {
		case <-ctx.Done():
			return progress, nil
		case <-tick.C:
		}
	}
}

// readProgress reads the progress of scans ids; those over in last (the
// previous reading, in the same order) are not read again.
func readProgress(ctx context.Context, srv *server.Server, ids []int64, last []backfill.Progress) ([]backfill.Progress, error) {
	out := make([]backfill.Progress, len(ids))
	for i, id := range ids {
		if i < len(last) && last[i].Over() {
			out[i] = last[i]
			continue
		}
		p, found, err := srv.ScanProgress(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading the progress of scan %d: %w", id, err)
		}
		if !found {
			return nil, fmt.Errorf("scan %d is no longer in the database (the scans table was cleaned while it ran?)", id)
		}
		out[i] = p
	}
	return out, nil
}

// allOver says whether every scan of ps has ended.
func allOver(ps []backfill.Progress) bool {
	for _, p := range ps {
		if !p.Over() {
			return false
		}
	}
	return true
}

// barWidth is the number of cells of a progress bar.
const barWidth = 20

// progressLine shows one repository's progress on one line, its name
// padded to nameWidth: state, a bar and the share of pages read (when
// their number is known), items, pages, API calls, 304s, errors, and the
// time left (or, once over, the time it took; a failed scan adds why).
func progressLine(p backfill.Progress, nameWidth int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-7s  ", nameWidth, p.Repository, p.State)
	total := "?"
	if p.PagesTotal != nil && *p.PagesTotal > 0 {
		share := min(float64(p.PagesDone)/float64(*p.PagesTotal), 1)
		filled := int(share * barWidth)
		fmt.Fprintf(&b, "[%s%s] %3d%%", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), int(share*100))
		total = fmt.Sprint(*p.PagesTotal)
	} else {
		fmt.Fprintf(&b, "[%s]    ?", strings.Repeat(" ", barWidth))
	}
	fmt.Fprintf(&b, "  items %d  pages %d/%s  API calls %d  304s %d  errors %d", p.Items, p.PagesDone, total, p.APICalls, p.NotModified, p.Errors)
	switch {
	case p.Over():
		fmt.Fprintf(&b, "  took %s", seconds(p.ElapsedSeconds, 100*time.Millisecond))
	case p.ETASeconds != nil:
		fmt.Fprintf(&b, "  ETA %s", seconds(*p.ETASeconds, time.Second))
	default:
		b.WriteString("  ETA ?")
	}
	if p.State == store.ScanFailed && p.LastError != "" {
		fmt.Fprintf(&b, "  error: %s", p.LastError)
	}
	return b.String()
}

// seconds writes s seconds as a duration rounded to unit ("1m5s").
func seconds(s float64, unit time.Duration) string {
	return time.Duration(s * float64(time.Second)).Round(unit).String()
}

// changeKey is what makes a repository's line worth printing again in a
// log: its figures, not its clock.
func changeKey(p backfill.Progress) string {
	total := -1
	if p.PagesTotal != nil {
		total = *p.PagesTotal
	}
	return fmt.Sprint(p.State, p.PagesDone, total, p.Items, p.APICalls, p.NotModified, p.Errors)
}

// maxFrameLines bounds the lines redrawn on a terminal: beyond it, the
// repositories not running are counted on one line.
const maxFrameLines = 20

// progressDisplay shows the progress on stderr: redrawn in place on a
// terminal, else a line per repository when it changes, at most every
// backfillLogEvery; nothing with --json. Log lines are written through it
// so that they do not break the redrawing.
type progressDisplay struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	silent bool
	drawn  int // lines of the last frame on the terminal
	// printed is when each scan's line was last printed (not a terminal),
	// and what it said.
	printed map[int64]printedLine
}

type printedLine struct {
	key string
	at  time.Time
}

func newProgressDisplay(w io.Writer, tty, silent bool) *progressDisplay {
	return &progressDisplay{w: w, tty: tty, silent: silent, printed: map[int64]printedLine{}}
}

// Write writes a log line above the progress.
func (d *progressDisplay) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	return d.w.Write(p)
}

// note writes a message above the progress (nothing with --json).
func (d *progressDisplay) note(msg string) {
	if d.silent {
		return
	}
	_, _ = d.Write([]byte(msg + "\n"))
}

// clearLocked removes the last frame from the terminal.
func (d *progressDisplay) clearLocked() {
	if d.drawn > 0 {
		fmt.Fprintf(d.w, "\x1b[%dA\x1b[J", d.drawn)
		d.drawn = 0
	}
}

// update shows ps, read at now.
func (d *progressDisplay) update(ps []backfill.Progress, now time.Time) { d.show(ps, now, false) }

// finish shows the final state of every scan: the last frame on a
// terminal, the lines not yet printed with their last figures otherwise.
func (d *progressDisplay) finish(ps []backfill.Progress) { d.show(ps, time.Now(), true) }

// show draws the frame on a terminal; otherwise it prints the line of each
// scan whose figures changed, at most every backfillLogEvery unless the
// scan is over or this is the final showing.
func (d *progressDisplay) show(ps []backfill.Progress, now time.Time, final bool) {
	if d.silent {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	width := nameWidth(ps)
	if d.tty {
		d.drawLocked(ps, width)
		if final {
			d.drawn = 0 // it stays on the screen
		}
		return
	}
	for _, p := range ps {
		last, seen := d.printed[p.ID]
		key := changeKey(p)
		if seen && (key == last.key || now.Sub(last.at) < backfillLogEvery && !p.Over() && !final) {
			continue
		}
		fmt.Fprintln(d.w, progressLine(p, width))
		d.printed[p.ID] = printedLine{key: key, at: now}
	}
}

// drawLocked redraws the frame in place. Line wrapping is turned off
// while drawing, so that a line wider than the terminal cannot push the
// frame down.
func (d *progressDisplay) drawLocked(ps []backfill.Progress, width int) {
	lines := frameLines(ps, width)
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	b.WriteString("\x1b[?7l")
	for _, l := range lines {
		b.WriteString("\r\x1b[2K" + l + "\n")
	}
	b.WriteString("\x1b[J\x1b[?7h")
	_, _ = io.WriteString(d.w, b.String())
	d.drawn = len(lines)
}

// frameLines are the lines of a frame: every repository, or, when there
// are too many, those running and a count of the others.
func frameLines(ps []backfill.Progress, width int) []string {
	var lines []string
	if len(ps) <= maxFrameLines {
		for _, p := range ps {
			lines = append(lines, progressLine(p, width))
		}
		return lines
	}
	states := map[string]int{}
	for _, p := range ps {
		if p.State == store.ScanRunning && len(lines) < maxFrameLines-1 {
			lines = append(lines, progressLine(p, width))
			continue
		}
		states[p.State]++
	}
	var parts []string
	for _, s := range []string{store.ScanRunning, store.ScanQueued, store.ScanDone, store.ScanFailed} {
		if states[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", states[s], s))
		}
	}
	return append(lines, fmt.Sprintf("and %d more repositories: %s", len(ps)-len(lines), strings.Join(parts, ", ")))
}

func nameWidth(ps []backfill.Progress) int {
	width := 0
	for _, p := range ps {
		width = max(width, len(p.Repository))
	}
	return width
}

// isTerminal says whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// backfillSummary is what `osprey backfill` reports at the end, and
// prints with --json.
type backfillSummary struct {
	Target string     `json:"target"`
	Kinds  []string   `json:"kinds"`
	Since  *time.Time `json:"since"`
	// Repositories are the scans, one per repository, with the scans of
	// each kind they spawned.
	Repositories []backfill.Progress `json:"repositories"`
	Total        backfillTotal       `json:"total"`
	// WallSeconds is how long the command ran.
	WallSeconds float64 `json:"wall_seconds"`
	// Interrupted says the command was stopped before every scan was
	// over; those not over stay queued in the database.
	Interrupted bool `json:"interrupted"`
}

// backfillTotal adds up the scans of a backfill.
type backfillTotal struct {
	Repositories int   `json:"repositories"`
	Done         int   `json:"done"`
	Failed       int   `json:"failed"`
	Unfinished   int   `json:"unfinished"`
	Items        int64 `json:"items"`
	Pages        int   `json:"pages"`
	APICalls     int64 `json:"api_calls"`
	NotModified  int64 `json:"not_modified"`
	// NotModifiedPercent is the share of API calls answered 304.
	NotModifiedPercent float64 `json:"not_modified_percent"`
	Errors             int     `json:"errors"`
	Swept              int     `json:"swept"`
}

func summarize(req server.BackfillRequest, ps []backfill.Progress, wall time.Duration, interrupted bool) backfillSummary {
	s := backfillSummary{Target: req.Target, Kinds: req.Kinds, Repositories: ps,
		WallSeconds: math.Round(wall.Seconds()*10) / 10, Interrupted: interrupted}
	if s.Kinds == nil {
		s.Kinds = backfill.DefaultKinds
	}
	if !req.Since.IsZero() {
		s.Since = &req.Since
	}
	if s.Repositories == nil {
		s.Repositories = []backfill.Progress{}
	}
	t := &s.Total
	for _, p := range ps {
		t.Repositories++
		switch p.State {
		case store.ScanDone:
			t.Done++
		case store.ScanFailed:
			t.Failed++
		default:
			t.Unfinished++
		}
		t.Items += p.Items
		t.Pages += p.PagesDone
		t.APICalls += p.APICalls
		t.NotModified += p.NotModified
		t.Errors += p.Errors
		t.Swept += p.Swept
	}
	t.NotModifiedPercent = percent(t.NotModified, t.APICalls)
	return s
}

// percent is part of whole in percent, to one decimal (0 of nothing).
func percent(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(float64(part)*1000/float64(whole)) / 10
}

// printBackfillSummary writes the summary as a table.
func printBackfillSummary(w io.Writer, s backfillSummary) {
	t := s.Total
	how := fmt.Sprintf("%d done, %d failed", t.Done, t.Failed)
	if t.Unfinished > 0 {
		how += fmt.Sprintf(", %d not over (interrupted)", t.Unfinished)
	}
	fmt.Fprintf(w, "backfill of %s (%s): %d repositories, %s, in %s\n", s.Target, strings.Join(s.Kinds, ","),
		t.Repositories, how, seconds(s.WallSeconds, 100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tSTATE\tITEMS\tPAGES\tAPI CALLS\t304s\tERRORS\tSWEPT\tTIME")
	for _, p := range s.Repositories {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d (%g%%)\t%d\t%d\t%s\n", p.Repository, p.State, p.Items, p.PagesDone, p.APICalls,
			p.NotModified, percent(p.NotModified, p.APICalls), p.Errors, p.Swept, seconds(p.ElapsedSeconds, 100*time.Millisecond))
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%d (%g%%)\t%d\t%d\t%s\n", t.Items, t.Pages, t.APICalls,
		t.NotModified, t.NotModifiedPercent, t.Errors, t.Swept, seconds(s.WallSeconds, 100*time.Millisecond))
	_ = tw.Flush()
	for _, p := range s.Repositories {
		if p.State == store.ScanFailed {
			fmt.Fprintf(w, "%s failed: %s\n", p.Repository, p.LastError)
		}
	}
}

// backfillOutcome is the command's error: a failed scan, or scans left
// unfinished by an interruption, make the exit status non-zero.
func backfillOutcome(s backfillSummary) error {
	var failed, unfinished []string
	for _, p := range s.Repositories {
		switch {
		case p.State == store.ScanFailed:
			failed = append(failed, fmt.Sprintf("%s (%s)", p.Repository, p.LastError))
		case !p.Over():
			unfinished = append(unfinished, p.Repository)
		}
	}
	var errs []error
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("the backfill of %d of %d repositories failed: %s",
			len(failed), len(s.Repositories), strings.Join(failed, "; ")))
	}
	if s.Interrupted && len(unfinished) > 0 {
		errs = append(errs, fmt.Errorf("interrupted: the scans of %s are not over and stay queued in the database; "+
			"run `osprey backfill %s` again to finish them here, or let a running `osprey serve` finish them",
			strings.Join(unfinished, ", "), s.Target))
	}
	return errors.Join(errs...)
}
