package api

import (
	"errors"
	"fmt"
)

// Stable error codes. Clients branch on these, never on messages.
const (
	CodeInvalid      = "invalid"      // 400: bad input; the message names the field
	CodeUnauthorized = "unauthorized" // 401: missing or wrong token
	CodeNotFound     = "not_found"    // 404
	CodeConflict     = "conflict"     // 409: exists already, or not allowed in the current state
	CodeTooLarge     = "too_large"    // 413: request body over the limit
	CodeInternal     = "internal"     // 500
	CodeUnavailable  = "unavailable"  // 503: agent shutting down or a dependency is down
)

// Error is the error body every failed request carries.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// ErrorBody is the JSON envelope of an error response.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// IsNotFound reports whether err is the agent saying the object does not exist.
func IsNotFound(err error) bool { return hasCode(err, CodeNotFound) }

// IsConflict reports whether err is a conflict (exists, or wrong state).
func IsConflict(err error) bool { return hasCode(err, CodeConflict) }

func hasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
