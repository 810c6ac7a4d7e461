package inbox

import (
	"encoding/json"
	"errors"
)

// Meta is what the inbox reads from any event payload to index and log it.
type Meta struct {
	Action         string
	InstallationID int64
	Repository     string // owner/name
	Sender         string
}

// ParseMeta decodes the fields every delivery is indexed by. It rejects only
// a payload that is not a JSON object; a field of an unexpected type is left
// empty, so that the delivery is still stored and its handler decides.
func ParseMeta(payload []byte) (Meta, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return Meta{}, err
	}
	if top == nil {
		return Meta{}, errors.New("the payload is null")
	}
	var m Meta
	var installation struct {
		ID int64 `json:"id"`
	}
	var repository struct {
		FullName string `json:"full_name"`
	}
	var sender struct {
		Login string `json:"login"`
	}
	// Type mismatches are ignored on purpose: see the doc comment.
	_ = json.Unmarshal(top["action"], &m.Action)
	if json.Unmarshal(top["installation"], &installation) == nil {
		m.InstallationID = installation.ID
	}
	if json.Unmarshal(top["repository"], &repository) == nil {
		m.Repository = repository.FullName
	}
	if json.Unmarshal(top["sender"], &sender) == nil {
		m.Sender = sender.Login
	}
	return m, nil
}
