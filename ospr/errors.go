package ospr

import (
	"errors"
	"fmt"
)

var errEmpty = errors.New("must not be empty")

// SettingError is a bad value of one triage setting.
type SettingError struct {
	Key string
	Err error
}

func (e *SettingError) Error() string { return fmt.Sprintf("triage setting %s: %v", e.Key, e.Err) }

func (e *SettingError) Unwrap() error { return e.Err }
