package inbox

import (
	"errors"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Meta is what the inbox reads from any event payload to index and log it.
type Meta struct {
	Action         string
	InstallationID int64
	Repository     string // owner/name
	Sender         string
}

// ParseMeta checks that payload is a JSON object in UTF-8 and reads the
// fields every delivery is indexed by. A field of an unexpected type is left
// empty, so that the delivery is still stored and its handler decides.
//
// It runs on every delivery before GitHub gets its answer, so it uses gjson:
// one validating pass, then one pass over the top-level keys, without
// decoding the document (encoding/json took a third of intake's CPU).
func ParseMeta(payload []byte) (Meta, error) {
	if !utf8.Valid(payload) {
		return Meta{}, errors.New("the payload is not valid UTF-8")
	}
	if !gjson.ValidBytes(payload) {
		return Meta{}, errors.New("invalid JSON")
	}
	root := gjson.ParseBytes(payload)
	if !root.IsObject() {
		return Meta{}, errors.New("the payload is not an object")
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
