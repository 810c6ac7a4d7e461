package inbox

import (
	"encoding/json"
)

// Meta is what the inbox reads from any event payload to index and log it.
type Meta struct {
	Action         string
	InstallationID int64
	Repository     string // owner/name
	Sender         string
}

// ParseMeta decodes the fields every delivery is indexed by. It rejects a
// payload that is not a JSON object.
func ParseMeta(payload []byte) (Meta, error) {
	var p struct {
		Action       string `json:"action"`
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return Meta{}, err
	}
	return Meta{
		Action:         p.Action,
		InstallationID: p.Installation.ID,
		Repository:     p.Repository.FullName,
		Sender:         p.Sender.Login,
	}, nil
}
