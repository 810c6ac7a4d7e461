package inbox

import (
	"errors"

	"github.com/tidwall/gjson"
)

// Meta is what the inbox reads from any event payload to index and log it.
type Meta struct {
	Action         string
	InstallationID int64
	Repository     string // owner/name
	Sender         string
}

// ParseMeta reads the fields every delivery is indexed by, in one pass over
// the payload's top-level keys, without decoding the document: encoding/json
// took a third of intake's CPU. It refuses a payload that does not even start
// like a JSON object; the full check that it is valid JSON (and UTF-8) is
// Postgres's, as it stores the payload in a json column (see
// store.IsInvalidPayload). A field of an unexpected type is left empty, so
// that the delivery is still stored and its handler decides.
func ParseMeta(payload []byte) (Meta, error) {
	root := gjson.ParseBytes(payload)
	if !root.IsObject() {
		return Meta{}, errors.New("the payload is not a JSON object")
	}
	var m Meta
	root.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "action":
			if value.Type == gjson.String {
				m.Action = value.Str
			}
		case "installation":
			if id := value.Get("id"); id.Type == gjson.Number {
				m.InstallationID = id.Int()
			}
		case "repository":
			if name := value.Get("full_name"); name.Type == gjson.String {
				m.Repository = name.Str
			}
		case "sender":
			if login := value.Get("login"); login.Type == gjson.String {
				m.Sender = login.Str
			}
		}
		return true
	})
	return m, nil
}
