package inbox

import (
	"errors"
	"net/http"
)

// permanentError marks a handler error that no retry can fix (a payload that
// does not have the shape its event promises, say).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the delivery fails at once instead of being
// retried. Handlers use it for payloads they can never process.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// intakeError is an error of the intake path with the HTTP status that
// answers it and a message safe to show to the sender.
type intakeError struct {
	status  int
	message string
	err     error
}

func (e *intakeError) Error() string {
	if e.err != nil {
		return e.message + ": " + e.err.Error()
	}
	return e.message
}

func (e *intakeError) Unwrap() error { return e.err }

func badPayload(message string, err error) error {
	return &intakeError{status: http.StatusBadRequest, message: message, err: err}
}

func unavailable(err error) error {
	return &intakeError{status: http.StatusServiceUnavailable, message: "the delivery could not be stored; send it again later", err: err}
}
