package inbox

import (
	"os"
	"testing"
)

func TestParseMeta(t *testing.T) {
	pr, err := os.ReadFile("../testdata/webhooks/pull_request_opened.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		want    Meta
		wantErr bool
	}{
		{name: "pull request", payload: string(pr), want: Meta{Action: "opened", InstallationID: 1001, Repository: "acme/widgets", Sender: "bob-contrib"}},
		{name: "ping has no action", payload: `{"zen":"z","hook_id":1,"sender":{"login":"alice"}}`, want: Meta{Sender: "alice"}},
		{name: "odd field types are left empty", payload: `{"action":7,"installation":{"id":"x"},"repository":"acme/widgets","sender":{"login":"alice"}}`, want: Meta{Sender: "alice"}},
		{name: "leading whitespace", payload: " \n\t{\"action\":\"closed\"}", want: Meta{Action: "closed"}},
		{name: "not JSON", payload: `action=opened`, wantErr: true},
		{name: "an array", payload: `[{"action":"opened"}]`, wantErr: true},
		{name: "null", payload: `null`, wantErr: true},
		{name: "empty", payload: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMeta([]byte(tt.payload))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
