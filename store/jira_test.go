package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

// One record per (pull request, nick), whatever the spelling and however
// many sessions ask at once; the first key recorded stays.
func TestJiraIssueRecords(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	in := store.JiraIssue{Repository: "OpenEdX/Widgets", Number: 7, Nick: "Test1", PullRequestID: 7007, Server: "https://j.example.org"}
	var wg sync.WaitGroup
	records := make([]store.JiraIssue, 8)
	for i := range records {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := store.IntendJiraIssue(ctx, db, in)
			if err != nil {
				t.Error(err)
			}
			records[i] = r
		}()
	}
	wg.Wait()
	earlier := 0
	for _, r := range records {
		if r.Earlier {
			earlier++
		}
		if r.Repository != "openedx/widgets" || r.Nick != "test1" || r.Key != "" || r.PullRequestID != 7007 || r.IntendedAt != records[0].IntendedAt {
			t.Errorf("record = %+v", r)
		}
	}
	if earlier != len(records)-1 {
		t.Errorf("%d of %d calls found an earlier intent, want all but one", earlier, len(records))
	}
	if earlier != len(records)-1 {
		t.Errorf("%d of %d calls found an earlier intent, want all but one", earlier, len(records))
	}
	key, err := store.RecordJiraKey(ctx, db, "openedx/widgets", 7, "TEST1", "OSPR-1")
	if err != nil || key != "OSPR-1" {
		t.Fatalf("record key: %q %v", key, err)
	}
	if key, _ := store.RecordJiraKey(ctx, db, "openedx/widgets", 7, "test1", "OSPR-2"); key != "OSPR-1" {
		t.Errorf("a second key replaced the first: %q", key)
	}
	if r, err := store.IntendJiraIssue(ctx, db, in); err != nil || r.Key != "OSPR-1" || r.CreatedAt.IsZero() {
		t.Errorf("after the key: %+v %v", r, err)
	}
	if _, err := store.RecordJiraKey(ctx, db, "openedx/widgets", 8, "test1", "OSPR-3"); err == nil {
		t.Error("a key was recorded without an intent")
	}
}
