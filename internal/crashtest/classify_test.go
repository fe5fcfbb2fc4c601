package crashtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
)

// poolCleared stands for the driver's unexported pool-cleared error, which
// is a driver.RetryablePoolError.
type poolCleared struct{}

func (poolCleared) Error() string   { return "connection pool for 127.0.0.1:1 was cleared" }
func (poolCleared) Retryable() bool { return true }

func TestOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"network error", mongo.CommandError{Labels: []string{"NetworkError"}, Message: "connection reset"}, true},
		{"pool cleared at check-out", mongo.CommandError{
			Labels:  []string{driver.TransientTransactionError},
			Wrapped: driver.Error{Labels: []string{driver.TransientTransactionError}, Wrapped: poolCleared{}},
		}, true},
		{"wrapped pool cleared", fmt.Errorf("insert: %w", driver.Error{Wrapped: poolCleared{}}), true},
		{"timeout", context.DeadlineExceeded, true},
		{"not from the server", errors.New("client went away"), true},
		{"server refusal", mongo.CommandError{Code: 2, Name: "BadValue", Message: "bad"}, false},
		{"write refusal", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000, Message: "dup"}}}, false},
	}
	for _, tt := range tests {
		if got := outcomeUnknown(tt.err); got != tt.want {
			t.Errorf("%s: outcomeUnknown(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
